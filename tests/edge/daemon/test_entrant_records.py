"""The entrant count travels in session records: every change of who is inside restates the session, so the cloud,
which shows each session's latest record by seq, counts the people inside whatever order batches arrive in."""

from __future__ import annotations

from edge.daemon import Daemon
from fwsim.stage.edge_site import LOCK, PERMIT, SPACE, Site
from protocols.padlock.events import EventKind
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually


async def test_every_change_of_the_entrant_count_restates_the_session(daemon: Daemon, site: Site) -> None:
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    assert await daemon.submit_command(site.time_command()) == "applied"
    assert await daemon.submit_command(site.permit_command(max_continuous_s=600)) == "applied"
    await eventually(lambda: daemon.spaces[SPACE].session.phase.value == "tested", what="tested")
    assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.OPENED)]) == 1
    await daemon.entrant_in(SPACE, "w-1")
    await daemon.entrant_in(SPACE, "w-2")
    await daemon.entrant_in(SPACE, "w-2")  # already inside: nothing changes, nothing restated
    await daemon.entrant_out(SPACE, "w-1")
    await daemon.entrant_out(SPACE, "nobody")  # was not inside: refused by the core
    await daemon.entrant_out(SPACE, "w-2")
    assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.CLOSED)]) == 1

    rows = outbox_rows(site.state_dir)
    sessions = [(seq, b) for seq, kind, b in rows if kind == "session"]
    assert [(b["state"], b["entrants"]) for _seq, b in sessions] == [
        ("authorized", 0), ("tested", 0), ("in_work", 0), ("in_work", 1), ("in_work", 2), ("in_work", 1),
        ("in_work", 0), ("closed", 0)]
    opened = sessions[2][1]
    for _seq, body in sessions[3:7]:  # the same session restated: id, permit and deadline kept, no transition
        assert body["session_id"] == opened["session_id"] and body["permit_id"] == PERMIT
        assert body["deadline_ms"] == opened["deadline_ms"] and "previous" not in body
    events = [seq for seq, kind, b in rows if kind == "event" and b["type"] in ("entrant_in", "entrant_out")]
    assert len(events) == 6
    # Each restatement follows the attendant's event that caused it.
    changed = [events[0], events[1], events[3], events[5]]
    assert all(event < seq for event, (seq, _b) in zip(changed, sessions[3:7], strict=True))
