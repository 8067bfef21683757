"""`manage.py verify_audit`: an untouched chain passes; an entry edited, deleted or inserted
behind the ORM's back (bulk update, SQL, a forged row) is named, and the command exits 1."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import audit
from audit.chain import entry_hash
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

# The tamperer bypasses the append-only default manager, as raw SQL would.
raw = AuditEntry._base_manager


@pytest.fixture
def chain() -> list[AuditEntry]:
    return [
        audit.record(action="poll.close", actor=None, subject=f"voting.poll:{n}", payload={"cast": n, "eligible": 9})
        for n in range(1, 6)
    ]


def verify_audit(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        verify_audit(*args)
    return str(failure.value)


def test_an_untouched_chain_passes(chain: list[AuditEntry]) -> None:
    assert verify_audit() == f"audit chain ok: 5 entries; head 5:{chain[-1].hash}\n"


def test_an_empty_log_passes() -> None:
    assert verify_audit().startswith("audit chain ok: 0 entries")


def test_an_edited_payload_is_found(chain: list[AuditEntry]) -> None:
    raw.filter(pk=chain[2].pk).update(payload={"cast": 9, "eligible": 9})
    message = broken()
    assert message.startswith(f"audit chain broken at entry 3 (id {chain[2].pk}): its content does not match")
    assert "2 entries before it hold" in message


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(chain: list[AuditEntry]) -> None:
    forged = raw.get(pk=chain[2].pk)
    forged.actor = "somebody else"
    raw.filter(pk=forged.pk).update(actor=forged.actor, hash=entry_hash(forged))
    assert broken().startswith(f"audit chain broken at entry 4 (id {chain[3].pk}): does not link")


def test_a_deleted_entry_is_found(chain: list[AuditEntry]) -> None:
    raw.filter(pk=chain[1].pk).delete()
    assert broken().startswith(f"audit chain broken at entry 3 (id {chain[2].pk}): entries 2…2 are missing")


def test_a_deleted_entry_with_the_rest_renumbered_is_found(chain: list[AuditEntry]) -> None:
    raw.filter(pk=chain[1].pk).delete()
    for entry in chain[2:]:
        raw.filter(pk=entry.pk).update(seq=entry.seq - 1)
    assert broken().startswith(f"audit chain broken at entry 2 (id {chain[2].pk}): does not link")


def test_a_forged_entry_inserted_in_the_middle_is_found(chain: list[AuditEntry]) -> None:
    # Make room after entry 2, insert a well-formed entry that links to it, and link the old
    # entry 3 to the forgery (seq and prev_hash are unique, so it has to be moved and relinked).
    for entry in reversed(chain[2:]):
        raw.filter(pk=entry.pk).update(seq=entry.seq + 1)
    raw.filter(pk=chain[2].pk).update(prev_hash="x" * 64)
    forged = AuditEntry(
        seq=3,
        at=chain[1].at,
        actor_kind="user",
        actor="moderator",
        actor_id=1,
        action="poll.publish",
        subject="voting.poll:99",
        payload={"cast": 9, "eligible": 9},
        prev_hash=chain[1].hash,
    )
    forged.hash = entry_hash(forged)
    forged.save(force_insert=True)
    raw.filter(pk=chain[2].pk).update(prev_hash=forged.hash)
    message = broken()
    assert message.startswith(f"audit chain broken at entry 3 (id {forged.pk}): inserted: written after entry 4")
    assert "2 entries before it hold" in message


def test_entries_cut_off_the_end_are_found_against_a_recorded_head(chain: list[AuditEntry]) -> None:
    head = f"5:{chain[-1].hash}"
    assert verify_audit("--head", head).startswith("audit chain ok: 5 entries")
    raw.filter(pk=chain[-1].pk).delete()
    assert verify_audit().startswith("audit chain ok: 4 entries")  # the chain alone cannot tell
    assert "the recorded head 5 is gone" in broken("--head", head)


def test_a_rewritten_head_is_found(chain: list[AuditEntry]) -> None:
    assert "differs from the recorded head" in broken("--head", f"3:{'0' * 64}")
    assert "--head is SEQ:HASH" in broken("--head", "three")


def test_the_command_exits_non_zero(chain: list[AuditEntry]) -> None:
    raw.filter(pk=chain[0].pk).update(action="hearing.start")
    with pytest.raises(SystemExit) as exit_:
        call_command_from_argv()
    assert exit_.value.code == 1


def call_command_from_argv() -> None:
    """As `manage.py verify_audit` runs it: a CommandError becomes exit status 1."""
    from audit.management.commands.verify_audit import Command

    Command(stdout=io.StringIO(), stderr=io.StringIO()).run_from_argv(["manage.py", "verify_audit"])
