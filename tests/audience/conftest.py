"""The socket tests here end promptly like tests/live's: what a test left open is closed."""

from tests.live.conftest import _bounded_teardown

__all__ = ["_bounded_teardown"]
