"""Shared building blocks below every app (no models, imports no app): client addresses, text validation."""
