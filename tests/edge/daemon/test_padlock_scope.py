"""A gateway serving two spaces (issue 9): each space's signed revocation list is held per padlock it names and
pushed only to those padlocks; and a padlock's ``abuse`` audit entry (junk requests) is relayed as a record, not
mistaken for anything the session acts on."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.stage.edge_site import LOCK, SPACE, Site
from protocols import crypto
from protocols.padlock.audit import sign_entry
from protocols.padlock.events import EventKind, LockEvent
from protocols.revocation import RevocationList, sign_revocation_list
from protocols.uplink.fields import b64url_encode
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

SPACE_B = "5b" * 16
LOCK_B = "20" * 8
ISSUER = crypto.generate_private_key()

# Space B's detector never answers (the simulator serves unit 1 only): a comm fault there, irrelevant here.
SECOND_SPACE = f"""
[[spaces]]
id = "{SPACE_B}"
name = "Valve pit 2"

[[detectors]]
id = "det-2"
bus = "rs485"
unit = 2
space = "{SPACE_B}"
poll_interval_s = 2.0

[[padlocks]]
id = "{LOCK_B}"
space = "{SPACE_B}"
public_key = "{crypto.public_raw(crypto.generate_private_key()).hex()}"
"""


@pytest.fixture
async def two_spaces(site: Site, gas: Any) -> AsyncIterator[tuple[Daemon, HeldPushes]]:
    pushes = HeldPushes()
    daemon = Daemon(load_edge_config(site.write_config(extra_space=SECOND_SPACE)),
                    clock_keeper=ClockKeeper(ntp=no_ntp), pushes=pushes)
    await daemon.start()
    yield daemon, pushes
    await stop_or_explain(daemon)


def signed_list(version: int, revoked: bytes, *, space: str, locks: list[str]) -> bytes:
    rl = RevocationList(version=version, issued_at=int(time.time()), min_iat=0, revoked=frozenset({revoked}),
                        space_id=bytes.fromhex(space), lock_ids=frozenset(bytes.fromhex(lock) for lock in locks))
    return sign_revocation_list(rl, ISSUER, kid=crypto.key_id(ISSUER))


async def test_each_space_s_revocation_list_goes_only_to_its_own_padlocks(
        two_spaces: tuple[Daemon, HeldPushes], site: Site) -> None:
    daemon, pushes = two_spaces
    assert await daemon.submit_command(site.time_command()) == "applied"
    list_a = signed_list(1, b"a" * 16, space=SPACE, locks=[LOCK])
    list_b = signed_list(1, b"b" * 16, space=SPACE_B, locks=[LOCK_B])
    for signed in (list_a, list_b):
        command = site.command("revocation_list", {"revocation_list": b64url_encode(signed)})
        assert await daemon.submit_command(command) == "applied"
    await eventually(lambda: pushes.latest.get((LOCK_B, "revocation_list")), what="B's list pushed")
    assert pushes.latest[(LOCK, "revocation_list")] == list_a  # the old gateway pushed B's list here too
    assert pushes.latest[(LOCK_B, "revocation_list")] == list_b
    assert pushes.count == 2
    # A newer list of space A replaces A's only.
    list_a2 = signed_list(2, b"c" * 16, space=SPACE, locks=[LOCK])
    command = site.command("revocation_list", {"revocation_list": b64url_encode(list_a2)})
    assert await daemon.submit_command(command) == "applied"
    await eventually(lambda: pushes.latest[(LOCK, "revocation_list")] == list_a2, what="A's v2 pushed")
    assert pushes.latest[(LOCK_B, "revocation_list")] == list_b
    # A list that does not decode is refused with a reason; nothing is pushed.
    bad = site.command("revocation_list", {"revocation_list": b64url_encode(b"\xd2\x84")})
    assert await daemon.submit_command(bad) == "malformed"
    assert pushes.count == 3


async def test_an_abuse_entry_is_relayed_as_records(two_spaces: tuple[Daemon, HeldPushes], site: Site) -> None:
    daemon, _pushes = two_spaces
    site.lock_seq += 1
    event = LockEvent(seq=site.lock_seq, kind=EventKind.ABUSE, at=int(time.time()), value=10)
    entry = sign_entry(event, lock_id=bytes.fromhex(LOCK), prev_hash=site.lock_hash, lock_key=site.lock_key)
    assert await daemon.relay_audit(LOCK, [entry.signed]) == 1
    assert daemon.spaces[SPACE].session.phase.value == "idle"  # nothing for the session to act on
    assert daemon.outbox is not None
    await daemon.outbox.flush()
    rows = outbox_rows(site.state_dir)
    audit = [b for _s, k, b in rows if k == "lock_audit"]
    events = [b for _s, k, b in rows if k == "event" and b["type"] == "lock_abuse"]
    assert [(b["event"], b["lock_id"]) for b in audit] == [("abuse", LOCK)]
    assert len(events) == 1 and events[0]["lock_id"] == LOCK
