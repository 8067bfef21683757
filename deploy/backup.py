"""Backups of 问政 Live and their restore: what `scripts/backup` and `scripts/restore` run.

A backup is one directory, BACKUP_DIR/wenzheng-<UTC time>/, written as .partial-wenzheng-<UTC time>
and renamed when complete (a directory named wenzheng-… is a finished backup):

    database.dump      PostgreSQL: pg_dump's custom format (-Fc)
    database.sqlite3   SQLite: a copy made by SQLite's online backup API (never a file copy)
    media.tar          MEDIA_ROOT (the replies' attachments)
    manifest.json      when, the database's vendor, the app's version and migrations, every
                       table's row count, the audit chain's head, and each file's SHA-256

The database's content and the manifest's facts describe one moment: on PostgreSQL pg_dump runs
in a snapshot exported by the transaction that counts the rows and walks the audit chain; on
SQLite the facts are read from the copy itself. Attachments are archived after the database
(a file is written before its row commits, so every attachment row has its file).

`restore BACKUP` checks the checksums before it touches anything, refuses a target database or
MEDIA_ROOT that holds anything (unless --force), restores, and then proves the result: every
table's row count equals the manifest's, and `verify_audit --head` with the manifest's head passes.
Settings (DATABASE_URL or SQLITE_PATH, MEDIA_ROOT, ...) come from the environment, as the app's
do (config/settings.py). See docs/operations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

ROOT = Path(__file__).resolve().parents[1]
FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media.tar"
DUMP = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
PREFIX = "wenzheng-"
PARTIAL = ".partial-"  # a backup being written: hidden, and not named like a finished one


class BackupError(Exception):
    """A refusal or a failed check: the message says what, and the command exits 1."""


# ------------------------------------------------------------------------------- settings


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()


def _database() -> dict[str, Any]:
    return dict(settings.DATABASES["default"])


def _vendor() -> str:
    return str(connection.vendor)


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT or settings.BASE_DIR / "media")


def _pg_binary(name: str) -> str:
    """pg_dump / pg_restore: PG_BIN when set, else PATH, else the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return str(Path(os.environ["PG_BIN"]) / name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise BackupError(f"{name} not found: install the PostgreSQL client, or set PG_BIN to its bin directory")
    return versions[-1]


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for the app's database (the same settings Django connects with)."""
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[name] = str(db[key])
    env["PGDATABASE"] = str(db["NAME"])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
    return env


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


# ------------------------------------------------------------------------------- facts


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def app_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return str(tomllib.load(stream)["project"]["version"])


def row_counts() -> dict[str, int]:
    """Every table of the database (Django's and ours) and its number of rows."""
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = int(cursor.fetchone()[0])
    return counts


def migrations() -> dict[str, list[str]]:
    """The migrations applied, by app."""
    applied: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            applied.setdefault(app, []).append(name)
    return applied


def audit_head() -> dict[str, Any]:
    """The audit chain as audit.chain.verify() walks it: entries, head, and where it breaks if it does."""
    # The app registry is ready only after _django(): the models are imported then.
    from audit.chain import verify  # noqa: PLC0415

    result = verify()
    if result.broken is not None:
        bad = result.broken
        return {"entries": result.count, "head": None, "broken": f"entry {bad.seq}: {bad.reason}"}
    head = f"{result.head_seq}:{result.head_hash}" if result.head_seq else None
    return {"entries": result.count, "head": head, "broken": None}


def facts() -> dict[str, Any]:
    return {"migrations": migrations(), "tables": row_counts(), "audit": audit_head()}


# ------------------------------------------------------------------------------- backup


@contextlib.contextmanager
def _pg_snapshot() -> Iterator[str]:
    """A read-only repeatable-read transaction on the app's connection; yields its exported snapshot."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])
        yield snapshot


def _backup_postgresql(work: Path) -> dict[str, Any]:
    db = _database()
    env = _pg_env(db)
    pg_dump = _pg_binary("pg_dump")
    with _pg_snapshot() as snapshot:
        found = facts()
        _run([pg_dump, "-Fc", "--no-password", f"--snapshot={snapshot}", "-f", str(work / DUMP["postgresql"])], env)
    found["client"] = _run([pg_dump, "--version"], env).strip()
    return found


def _sqlite_copy(source: str, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while the app writes (WAL)."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@contextlib.contextmanager
def _django_on(path: Path) -> Iterator[None]:
    """Point the app's connection at another SQLite file for a while (to read a copy's facts)."""
    connection.close()
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


def _backup_sqlite(work: Path) -> dict[str, Any]:
    source = str(_database()["NAME"])
    if not Path(source).is_file():
        raise BackupError(f"no database at {source} (SQLITE_PATH)")
    copy = work / DUMP["sqlite"]
    _sqlite_copy(source, copy)
    with _django_on(copy):
        found = facts()
    with contextlib.closing(sqlite3.connect(copy)) as db:
        db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    found["client"] = f"sqlite {sqlite3.sqlite_version}"
    return found


def _archive_media(target: Path) -> int:
    root = _media_root()
    files = 0
    with tarfile.open(target, "w") as archive:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
                    files += 1
    return files


def backup(directory: Path) -> Path:
    """Write one complete backup into `directory`; returns its path."""
    vendor = _vendor()
    if vendor not in DUMP:
        raise BackupError(f"cannot back up a {vendor} database")
    # A backup holds personal data (names, phone numbers, contacts, the audit log): every directory
    # and file it makes, pg_dump's and SQLite's included, is its owner's only (0700 / 0600).
    private = os.umask(0o077)
    try:
        return _backup_into(directory, vendor)
    finally:
        os.umask(private)


def _backup_into(directory: Path, vendor: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    name = PREFIX + created.strftime("%Y%m%dT%H%M%S%fZ")
    work = directory / (PARTIAL + name)
    work.mkdir()
    try:
        found = _backup_postgresql(work) if vendor == "postgresql" else _backup_sqlite(work)
        media_files = _archive_media(work / MEDIA)
        files = {
            file: {"sha256": sha256(work / file), "bytes": (work / file).stat().st_size}
            for file in (DUMP[vendor], MEDIA)
        }
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "vendor": vendor,
            "app_version": app_version(),
            "client": found["client"],
            "database": DUMP[vendor],
            "media_files": media_files,
            "files": files,
            "audit": found["audit"],
            "migrations": found["migrations"],
            "tables": found["tables"],
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        final = directory / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


# ------------------------------------------------------------------------------- restore


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest, once every file it lists matches its checksum (nothing is restored before)."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a backup: no {MANIFEST}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except ValueError as error:
        raise BackupError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BackupError(f"{path}: unknown backup format {found!r}")
    # The checksums guard the restore only if they cover exactly the database and media.tar: a
    # manifest that leaves one out, or names a file elsewhere, is not this tool's.
    wanted = {DUMP.get(str(manifest.get("vendor")), "the database"), MEDIA}
    files = manifest.get("files")
    if (
        not isinstance(files, dict)
        or set(files) != wanted
        or manifest.get("database") not in wanted - {MEDIA}
        or not all(isinstance(entry, dict) and isinstance(entry.get("sha256"), str) for entry in files.values())
    ):
        listed = " and ".join(sorted(wanted))
        raise BackupError(f"{path}: the manifest's file list is not {listed} with their checksums")
    tables, audit = manifest.get("tables"), manifest.get("audit")
    if (
        not isinstance(tables, dict)
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in tables.values())
        or not isinstance(audit, dict)
        or not {"head", "broken"} <= set(audit)
    ):
        raise BackupError(f"{path}: the manifest lacks its row counts or its audit head")
    for name, expected in files.items():
        file = source / name
        if not file.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if sha256(file) != expected["sha256"]:
            raise BackupError(f"{name} does not match its checksum in the manifest: the backup is damaged or altered")
    return manifest


def _pg_tables() -> list[str]:
    with connection.cursor() as cursor:
        return list(connection.introspection.table_names(cursor))


def _pg_clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()


def _restore_postgresql(source: Path) -> None:
    db = _database()
    if _pg_tables():
        _pg_clear()
    connection.close()
    command = [_pg_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run([*command, "--no-password", "-d", str(db["NAME"]), str(source / DUMP["postgresql"])], _pg_env(db))


def _restore_sqlite(source: Path) -> None:
    target = Path(str(_database()["NAME"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    _sqlite_copy(str(source / DUMP["sqlite"]), target)


def _refuse_a_target_in_use(vendor: str) -> None:
    """Refuse (before anything changes) a database or MEDIA_ROOT that already holds something."""
    db = _database()
    if vendor == "postgresql":
        tables = _pg_tables()
        if tables:
            raise BackupError(
                f"database {db['NAME']} is not empty ({len(tables)} tables): restore into a new, empty database "
                "(createdb), or pass --force to replace everything in it"
            )
    else:
        target = Path(str(db["NAME"]))
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(
                f"{target} exists and is not empty: restore to a new SQLITE_PATH, or pass --force to replace it "
                "(stop the app first)"
            )
    root = _media_root()
    if root.exists() and any(root.iterdir()):
        raise BackupError(f"MEDIA_ROOT {root} is not empty: point MEDIA_ROOT at a new folder, or pass --force")


def _check_media(source: Path) -> None:
    """Refuse an archive with a member that would land outside MEDIA_ROOT, or is not a plain file."""
    root = _media_root()
    with tarfile.open(source / MEDIA) as archive:
        for member in archive.getmembers():
            try:
                inside = tarfile.data_filter(member, str(root)).name == member.name  # "/x" would become "x"
            except tarfile.FilterError:
                inside = False
            if not inside:
                raise BackupError(f"{MEDIA} holds {member.name!r}, which would not land inside MEDIA_ROOT")
            if not member.isfile():
                raise BackupError(f"{MEDIA} holds {member.name!r}, which is not a plain file")


def _restore_media(source: Path) -> None:
    root = _media_root()
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / MEDIA) as archive:
        archive.extractall(root, filter="data")


def check(manifest: dict[str, Any], *, recorded_head: str | None = None) -> list[str]:
    """What of the restored database differs from the manifest, or from a head recorded elsewhere
    (nothing: [])."""
    problems = []
    restored = row_counts()
    for table in sorted(set(manifest["tables"]) | set(restored)):
        want, have = manifest["tables"].get(table), restored.get(table)
        if want != have:
            problems.append(f"table {table}: {have} rows restored, the backup's manifest says {want}")
    head = manifest["audit"]["head"]
    try:
        call_command("verify_audit", *(["--head", head] if head else []), stdout=io.StringIO())
    except CommandError as error:
        problems.append(f"verify_audit{' --head ' + head if head else ''}: {error}")
    if recorded_head:
        try:
            call_command("verify_audit", "--head", recorded_head, stdout=io.StringIO())
        except CommandError as error:
            problems.append(f"verify_audit --head {recorded_head} (the head recorded elsewhere): {error}")
    return problems


def _parse_head(value: str) -> None:
    """verify_audit's own reading of SEQ:HASH, before anything changes."""
    # Its module imports the audit models: the app registry is ready only after _django().
    from audit.management.commands.verify_audit import _head  # noqa: PLC0415

    try:
        _head(value)
    except CommandError as error:
        raise BackupError(str(error)) from None


def restore(source: Path, *, force: bool = False, recorded_head: str | None = None) -> dict[str, Any]:
    """Check the backup, restore it into the configured (empty) database and MEDIA_ROOT, prove it."""
    if recorded_head:
        _parse_head(recorded_head)
    manifest = read_manifest(source)
    vendor = _vendor()
    if manifest["vendor"] != vendor:
        raise BackupError(f"this is a {manifest['vendor']} backup; the configured database is {vendor}")
    _check_media(source)
    if not force:
        _refuse_a_target_in_use(vendor)
    if vendor == "postgresql":
        _restore_postgresql(source)
    else:
        _restore_sqlite(source)
    _restore_media(source)
    problems = check(manifest, recorded_head=recorded_head)
    if problems:
        raise BackupError("the restored database does not match the backup; do not use it:\n  " + "\n  ".join(problems))
    return manifest


# ------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.backup", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="write one backup")
    make.add_argument("directory", nargs="?", default=os.environ.get("BACKUP_DIR") or str(ROOT / "backups"))
    undo = sub.add_parser("restore", help="restore a backup into an empty database and MEDIA_ROOT, then check it")
    undo.add_argument("backup", help="a backup directory (…/wenzheng-<time>)")
    undo.add_argument("--force", action="store_true", help="replace whatever the database and MEDIA_ROOT hold")
    undo.add_argument(
        "--head",
        metavar="SEQ:HASH",
        help="an audit head recorded elsewhere before the backup was taken: the restored chain must hold it too",
    )
    # scripts/backup and scripts/restore run from the app's folder (the app's settings read relative
    # paths from there) and pass the folder they were called from: DIR and BACKUP are read from it.
    parser.add_argument("--called-from", type=Path, default=Path(), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    _django()
    try:
        if options.command == "backup":
            made = backup(options.called_from / options.directory)
            manifest = json.loads((made / MANIFEST).read_text())
            print(f"backup written: {made}")
            print(f"audit head {manifest['audit']['head']} ({manifest['audit']['entries']} entries)")
            if manifest["audit"]["broken"]:
                print(f"warning: the audit chain is broken at {manifest['audit']['broken']}", file=sys.stderr)
                return 2
        else:
            manifest = restore(options.called_from / options.backup, force=options.force, recorded_head=options.head)
            total = sum(manifest["tables"].values())
            print(
                f"restored {options.backup}: {len(manifest['tables'])} tables, {total} rows, "
                f"{manifest['media_files']} media files; audit chain ok up to {manifest['audit']['head']}"
            )
    except BackupError as error:
        print(f"{options.command}: {error}", file=sys.stderr)
        return 1
    except DatabaseError as error:
        print(f"{options.command}: the database refused: {str(error).strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
