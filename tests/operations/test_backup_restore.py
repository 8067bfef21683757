"""The restore drill, as an administrator runs it: `scripts/backup` of a database with hearings,
assignments, an attachment and audit entries; `scripts/restore` into a fresh database and
MEDIA_ROOT; `verify_audit --head` against the restored database; every table's row count equal
to the source's. On the configured database's vendor: SQLite in the default pass, PostgreSQL when
DATABASE_URL is set (a fresh database test_backup_<random> for each restore, dropped after).

And the refusals: a backup whose file changed, or whose database lost an audit row behind a
rewritten checksum, is refused with the reason; a target that holds anything is refused and
left as it was; a backup taken while the app writes is consistent."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

import audit
from assignments import services
from audit.models import AuditEntry
from deploy.backup import DUMP, MANIFEST, MEDIA, _pg_binary
from tests.assignments.helpers import make_case

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
VENDOR_ENV = ("DATABASE_URL", "SQLITE_PATH", "MEDIA_ROOT")
ATTACHMENT = b"%PDF-1.4 the reply's report"


# ------------------------------------------------------------------------------- databases


def _pg_url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _pg_admin(sql: str) -> None:
    """CREATE / DROP DATABASE: outside any transaction, on the test's own connection."""
    with connection.cursor() as cursor:
        cursor.execute(sql)


@dataclass
class Target:
    """Where a script points: a database (SQLite file or PostgreSQL database) and a MEDIA_ROOT."""

    database: str  # the SQLite path, or the PostgreSQL database's name
    media: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in VENDOR_ENV}
        env["MEDIA_ROOT"] = str(self.media)
        if connection.vendor == "postgresql":
            env["DATABASE_URL"] = _pg_url(self.database)
            env["DB_CONN_MAX_AGE"] = "0"
        else:
            env["SQLITE_PATH"] = self.database
        return env

    def counts(self) -> dict[str, int]:
        """Every table's row count, read without the app (sqlite3 / psycopg directly)."""
        if connection.vendor == "postgresql":
            import psycopg

            with psycopg.connect(_pg_url(self.database)) as db:
                tables = [
                    row[0]
                    for row in db.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                    )
                ]
                return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # type: ignore[index]
        if not Path(self.database).exists():
            return {}
        with sqlite3.connect(self.database) as db:
            tables = [
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}

    def media_files(self) -> dict[str, bytes]:
        if not self.media.exists():
            return {}
        return {str(p.relative_to(self.media)): p.read_bytes() for p in sorted(self.media.rglob("*")) if p.is_file()}


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Target]:
    """An empty database and MEDIA_ROOT to restore into."""
    if connection.vendor == "postgresql":
        name = f"test_backup_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        try:
            yield Target(name, tmp_path / "restored-media")
        finally:
            connection.close()
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield Target(str(tmp_path / "restored.sqlite3"), tmp_path / "restored-media")


@pytest.fixture
def source(settings: Any, tmp_path: Path) -> Target:
    """The test database, seeded: a hearing, an assignment replied to with an attachment, audit entries."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    case = make_case()
    assignment = services.assignment_create(
        hearing_id=case.hearing.pk,
        question_ids=[case.questions[0].pk],
        lead_department_id=case.lead.pk,
        co_department_ids=[],
        working_days=5,
        by=case.moderator,
    )
    services.assignment_accept(assignment_id=assignment.pk, by=case.liaison, note="已签收")
    upload = SimpleUploadedFile("整改报告.pdf", ATTACHMENT, content_type="application/pdf")
    services.assignment_reply(assignment_id=assignment.pk, by=case.liaison, text="已完成整改", files=[upload])
    for n in range(5):
        audit.record(action="poll.close", actor=None, subject=f"voting.poll:{n}", payload={"cast": n})
    connection.close()  # the scripts' processes see everything committed
    name = connection.settings_dict["NAME"]
    return Target(str(name), Path(settings.MEDIA_ROOT))


# ------------------------------------------------------------------------------- the scripts


def run(script: str, *args: str, target: Target) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args], env=target.env(), capture_output=True, text=True, timeout=90
    )


def take_backup(source: Target, into: Path) -> Path:
    done = run("backup", str(into), target=source)
    assert done.returncode == 0, done.stderr
    (made,) = [p for p in into.iterdir() if p.name.startswith("wenzheng-")]
    assert f"backup written: {made}" in done.stdout
    return made


def manifest_of(backup: Path) -> dict[str, Any]:
    return json.loads((backup / MANIFEST).read_text())


def refused(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert reason in done.stderr, done.stderr
    assert "restored " not in done.stdout


# ------------------------------------------------------------------------------- the drill


def test_the_restore_drill(source: Target, fresh: Target, tmp_path: Path) -> None:
    before = source.counts()
    assert before["audit_auditentry"] >= 5
    assert before["assignments_attachment"] == 1
    assert before["hearings_hearing"] >= 1
    backup = take_backup(source, tmp_path / "backups")
    manifest = manifest_of(backup)
    assert manifest["vendor"] == connection.vendor
    assert manifest["tables"] == before
    assert sorted(manifest["files"]) == sorted([DUMP[connection.vendor], MEDIA])
    assert manifest["media_files"] == 1
    assert set(manifest["migrations"]) >= {"audit", "hearings", "assignments"}
    head = manifest["audit"]["head"]
    assert head.startswith(f"{before['audit_auditentry']}:")

    earlier = f"2:{AuditEntry.objects.get(seq=2).hash}"  # as noted in an earlier session's minutes
    done = run("restore", str(backup), "--head", earlier, target=fresh)
    assert done.returncode == 0, done.stderr
    assert f"audit chain ok up to {head}" in done.stdout

    verified = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "verify_audit", "--head", head],
        cwd=ROOT,
        env=fresh.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert f"head {head}" in verified.stdout
    assert fresh.counts() == before
    assert fresh.media_files() == source.media_files()
    assert ATTACHMENT in fresh.media_files().values()


# ------------------------------------------------------------------------------- attacks and failures


def _rewrite_checksum(backup: Path, name: str) -> None:
    manifest = manifest_of(backup)
    manifest["files"][name]["sha256"] = hashlib.sha256((backup / name).read_bytes()).hexdigest()
    (backup / MANIFEST).write_text(json.dumps(manifest))


def _tamper_database(backup: Path, sql: str, scratch: Target) -> None:
    """Change the backup's database as an intruder would: run `sql` in it, write it back, and
    give the manifest the new file's checksum (so only the content's checks can tell)."""
    dump = backup / DUMP[connection.vendor]
    if connection.vendor == "postgresql":
        env = {**os.environ, "PGDATABASE": scratch.database}
        url = _pg_url(scratch.database)
        subprocess.run([_pg_binary("pg_restore"), "--no-owner", "-d", url, str(dump)], check=True, env=env)
        import psycopg

        with psycopg.connect(url) as pg:
            pg.execute(sql)
        subprocess.run([_pg_binary("pg_dump"), "-Fc", "-f", str(dump), url], check=True, env=env)
    else:
        with contextlib.closing(sqlite3.connect(dump)) as db, db:
            db.execute(sql)
    _rewrite_checksum(backup, dump.name)


def _assert_untouched(target: Target) -> None:
    assert target.counts() == {}
    assert target.media_files() == {}


def test_a_changed_file_is_refused_before_anything_is_restored(source: Target, fresh: Target, tmp_path: Path) -> None:
    backup = take_backup(source, tmp_path / "backups")
    with (backup / DUMP[connection.vendor]).open("ab") as dump:
        dump.write(b"\0")
    refused(run("restore", str(backup), target=fresh), "does not match its checksum in the manifest")
    _assert_untouched(fresh)


def test_a_changed_media_archive_is_refused(source: Target, fresh: Target, tmp_path: Path) -> None:
    backup = take_backup(source, tmp_path / "backups")
    (backup / MEDIA).write_bytes((backup / MEDIA).read_bytes().replace(ATTACHMENT, ATTACHMENT.upper()))
    refused(run("restore", str(backup), target=fresh), f"{MEDIA} does not match its checksum")
    _assert_untouched(fresh)


def test_a_backup_without_its_manifest_is_refused(source: Target, fresh: Target, tmp_path: Path) -> None:
    backup = take_backup(source, tmp_path / "backups")
    (backup / MANIFEST).unlink()
    refused(run("restore", str(backup), target=fresh), f"is not a backup: no {MANIFEST}")
    _assert_untouched(fresh)


@pytest.fixture
def scratch(fresh: Target, tmp_path: Path) -> Iterator[Target]:
    """A second fresh database, for the intruder's work on PostgreSQL."""
    if connection.vendor != "postgresql":
        yield Target(str(tmp_path / "scratch.sqlite3"), tmp_path / "scratch-media")
        return
    name = f"test_backup_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield Target(name, tmp_path / "scratch-media")
    finally:
        connection.close()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_audit_row_deleted_from_the_backup_is_found(
    source: Target, fresh: Target, scratch: Target, tmp_path: Path
) -> None:
    backup = take_backup(source, tmp_path / "backups")
    entries = manifest_of(backup)["tables"]["audit_auditentry"]
    _tamper_database(backup, "DELETE FROM audit_auditentry WHERE seq = 2", scratch)
    done = run("restore", str(backup), target=fresh)
    refused(done, "the restored database does not match the backup; do not use it")
    assert f"table audit_auditentry: {entries - 1} rows restored, the backup's manifest says {entries}" in done.stderr
    assert "verify_audit --head" in done.stderr
    assert "entries 2…2 are missing (deleted)" in done.stderr


def test_the_last_audit_rows_cut_off_with_the_counts_rewritten_are_found(
    source: Target, fresh: Target, scratch: Target, tmp_path: Path
) -> None:
    """The intruder also fixes the manifest's row count: the recorded head is still missing."""
    backup = take_backup(source, tmp_path / "backups")
    manifest = manifest_of(backup)
    last = manifest["tables"]["audit_auditentry"]
    _tamper_database(backup, f"DELETE FROM audit_auditentry WHERE seq = {last}", scratch)
    manifest = manifest_of(backup)
    manifest["tables"]["audit_auditentry"] = last - 1
    (backup / MANIFEST).write_text(json.dumps(manifest))
    done = run("restore", str(backup), target=fresh)
    refused(done, f"the recorded head {last} is gone (entries at the end were deleted)")


def test_a_target_that_holds_anything_is_refused_and_left_as_it_was(
    source: Target, fresh: Target, tmp_path: Path
) -> None:
    backup = take_backup(source, tmp_path / "backups")
    assert run("restore", str(backup), target=fresh).returncode == 0
    with (fresh.media / "notes.txt").open("w") as extra:
        extra.write("the office's own file")
    counts, media = fresh.counts(), fresh.media_files()
    again = run("restore", str(backup), target=fresh)
    refused(again, "is not empty")
    assert "pass --force" in again.stderr
    assert (fresh.counts(), fresh.media_files()) == (counts, media)

    # An empty database with a MEDIA_ROOT in use is refused too, before the database is touched.
    other = Target(
        f"test_backup_{uuid.uuid4().hex[:12]}"
        if connection.vendor == "postgresql"
        else str(tmp_path / "other.sqlite3"),
        fresh.media,
    )
    if connection.vendor == "postgresql":
        _pg_admin(f'CREATE DATABASE "{other.database}"')
    try:
        refused(run("restore", str(backup), target=other), f"MEDIA_ROOT {fresh.media} is not empty")
        assert other.counts() == {}
        assert fresh.media_files() == media
    finally:
        if connection.vendor == "postgresql":
            connection.close()
            _pg_admin(f'DROP DATABASE IF EXISTS "{other.database}" WITH (FORCE)')


def test_force_replaces_what_the_target_holds(source: Target, fresh: Target, tmp_path: Path) -> None:
    backup = take_backup(source, tmp_path / "backups")
    assert run("restore", str(backup), target=fresh).returncode == 0
    done = run("restore", "--force", str(backup), target=fresh)
    assert done.returncode == 0, done.stderr
    assert fresh.counts() == source.counts()


def test_a_backup_taken_while_the_app_writes_is_consistent(source: Target, fresh: Target, tmp_path: Path) -> None:
    """Audit entries are appended the whole time the backup runs: the backup holds a moment's
    state (its manifest's counts and head are those of its own database), and restores whole."""
    first, stop, written = threading.Event(), threading.Event(), [0]

    def writer() -> None:
        try:
            while not stop.is_set():
                audit.record(action="poll.close", actor=None, subject="voting.poll:1", payload={"n": written[0]})
                written[0] += 1
                first.set()
        finally:
            connection.close()

    base = source.counts()["audit_auditentry"]
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert first.wait(timeout=30)
        at_start = written[0]
        backup = take_backup(source, tmp_path / "backups")
        at_end = written[0]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert at_end > at_start, "no write happened while the backup ran"
    manifest = manifest_of(backup)
    entries = manifest["tables"]["audit_auditentry"]
    assert base + at_start <= entries <= base + at_end
    assert manifest["audit"]["entries"] == entries
    assert manifest["audit"]["head"].startswith(f"{entries}:")
    done = run("restore", str(backup), target=fresh)
    assert done.returncode == 0, done.stderr
    assert fresh.counts() == manifest["tables"]


def test_a_backup_that_fails_leaves_nothing_behind(source: Target, tmp_path: Path) -> None:
    missing = Target(
        f"test_backup_{uuid.uuid4().hex[:12]}"
        if connection.vendor == "postgresql"
        else str(tmp_path / "missing.sqlite3"),
        source.media,
    )
    into = tmp_path / "backups"
    done = run("backup", str(into), target=missing)
    assert done.returncode == 1, (done.stdout, done.stderr)
    reason = "the database refused" if connection.vendor == "postgresql" else "no database at"
    assert reason in done.stderr
    assert "Traceback" not in done.stderr
    assert list(into.iterdir()) == []


def test_a_chain_broken_before_the_backup_is_reported_and_its_restore_refused(
    source: Target, fresh: Target, tmp_path: Path
) -> None:
    """The backup is still written (it is the best copy there is), but exits 2 naming the entry."""
    AuditEntry._base_manager.filter(seq=3).update(action="poll.open")
    connection.close()
    done = run("backup", str(tmp_path / "backups"), target=source)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "warning: the audit chain is broken at entry 3: its content does not match its hash (edited)" in done.stderr
    (backup,) = (tmp_path / "backups").iterdir()
    assert manifest_of(backup)["audit"]["head"] is None
    refused(run("restore", str(backup), target=fresh), "verify_audit: audit chain broken at entry 3")


def test_a_head_recorded_elsewhere_that_the_backup_lacks_is_found(
    source: Target, fresh: Target, tmp_path: Path
) -> None:
    """The backup and its manifest agree, but not with the head noted in the minutes: rewritten."""
    backup = take_backup(source, tmp_path / "backups")
    done = run("restore", str(backup), "--head", "2:" + "ab" * 32, target=fresh)
    refused(done, "verify_audit --head 2:" + "ab" * 32 + " (the head recorded elsewhere)")
    assert "differs from the recorded head" in done.stderr


def test_a_malformed_recorded_head_is_refused_before_anything_changes(
    source: Target, fresh: Target, tmp_path: Path
) -> None:
    backup = take_backup(source, tmp_path / "backups")
    refused(run("restore", str(backup), "--head", "2:abc", target=fresh), "--head is SEQ:HASH")
    _assert_untouched(fresh)


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (tarfile.TarInfo("../outside.txt"), "would not land inside MEDIA_ROOT"),
        (tarfile.TarInfo("/etc/cron.d/wenzheng"), "would not land inside MEDIA_ROOT"),
        (tarfile.TarInfo("assignments/link"), "is not a plain file"),
    ],
    ids=["parent", "absolute", "symlink"],
)
def test_a_media_archive_reaching_outside_media_root_is_refused(
    source: Target, fresh: Target, tmp_path: Path, member: tarfile.TarInfo, reason: str
) -> None:
    """Even with the checksum rewritten to match: nothing is restored, nothing lands outside."""
    backup = take_backup(source, tmp_path / "backups")
    if member.name.endswith("link"):
        member.type, member.linkname = tarfile.SYMTYPE, "other"  # inside, yet not a file
    with tarfile.open(backup / MEDIA, "a") as archive:
        archive.addfile(member, io.BytesIO(b"") if member.isfile() else None)
    _rewrite_checksum(backup, MEDIA)
    refused(run("restore", str(backup), target=fresh), f"{MEDIA} holds {member.name!r}, which {reason}")
    _assert_untouched(fresh)
    assert not (fresh.media.parent / "outside.txt").exists()
