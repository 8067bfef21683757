"""What leaves the process after a test's actions: the on-commit callbacks a test's transaction
holds back (the test never commits), then the queued tasks, as a committed request and the
worker would run them."""

from __future__ import annotations

from django.db import connection

from tests.tasks import run_tasks


def commit() -> int:
    """Run the callbacks waiting for the test's transaction to commit (and those they add)."""
    ran = 0
    while connection.run_on_commit:
        pending = list(connection.run_on_commit)
        connection.run_on_commit.clear()
        for entry in pending:
            callback = entry[1]  # (savepoints, callback, robust)
            callback()
            ran += 1
    return ran


def deliver() -> None:
    """Commit, then run the queued tasks, until nothing more is waiting (a task may queue mail)."""
    while commit() or run_tasks():
        pass
