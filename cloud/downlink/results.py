"""What gateways report of the commands sent to them: each ``command_result`` event (``protocols/uplink.md`` §5.3)
is kept on the command row it answers (gateway, down channel, counter), and the refusals that matter to someone
are handed back to the caller (ingestion), which reopens an acknowledged alert (``cloud.alerts.intake``).

A counter can get more than one result (a command delivered twice is ``applied``, then ``replayed``), and batches
may arrive out of order, so the row keeps the most telling result rather than the latest: ``applied`` (final) over
any other outcome of an accepted command, over a refusal of verification (§5.4), over a result whose signature did
not hold (``verified: false``). A result no more telling than the stored one changes nothing, so a record stored
twice — or a later ``replayed`` — is harmless.

Not trusted, and kept only as the stored ``event`` record (``uplink_records``) plus a log line:

- a result naming a counter the cloud holds no command for (never issued, re-issued under a new counter, or
  purged after it expired);
- a verified result whose ``kind`` is not the row's kind (the row is not what the gateway answered).

A ``verified: false`` result (``unknown_kid``, ``bad_signature``) says only what a command *claimed*: it is kept on
the row when nothing better is known, marked ``verified`` false, and never acts on anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.downlink.models import DownlinkCommand
from cloud.downlink.service import stored_command
from protocols.commands import DOWN_CHANNEL, REJECTION_CODES, Command

log = structlog.get_logger(__name__)

RESULT_EVENT = "command_result"
APPLIED = "applied"
#: The outcomes of a command the gateway accepted (§5.3 table): what it did with it.
OUTCOMES = frozenset({APPLIED, "unknown_space", "unknown_alarm", "gas_present", "space_not_confirmed",
                      "unsupported", "failed"})
#: Refusals that end a command for good and tell the sender something: every outcome but ``applied``, and
#: ``expired`` (the command can never pass). The other verification refusals do not: ``replayed`` usually follows
#: ``applied``, and after ``untrusted_clock`` (or a key the gateway lacks) the same command may still be applied.
FINAL_REFUSALS = (OUTCOMES - {APPLIED}) | {"expired"}
MAX_RESULT = 32  # the column's width


@dataclass(frozen=True)
class Refusal:
    """A command newly known to be refused for good, and what it carried."""

    row: DownlinkCommand
    command: Command
    result: str
    at: datetime


def rank(result: str | None, verified: bool | None) -> int:
    """How telling a result is: a stored result is replaced only by a higher rank."""
    if result is None:
        return 0
    if verified is False:
        return 1
    if result == APPLIED:
        return 4
    return 3 if result in OUTCOMES else 2


def _parse(data: dict[str, Any]) -> tuple[int, str, str, bool] | None:
    """(counter, kind, result, verified) of a ``command_result``'s data, or None when it is not one."""
    counter, kind, result = data.get("counter"), data.get("kind"), data.get("result")
    verified = data.get("verified", True)
    if (not isinstance(counter, int) or isinstance(counter, bool) or not 1 <= counter < 2**63
            or not isinstance(kind, str) or not isinstance(result, str) or not result or len(result) > MAX_RESULT
            or not isinstance(verified, bool)):
        return None
    if result not in OUTCOMES and result not in REJECTION_CODES:
        return None
    return counter, kind, result, verified


def store_results(db: Session, *, gateway_id: str, results: Sequence[tuple[dict[str, Any], datetime]]
                  ) -> list[Refusal]:
    """Keep each result (its event ``data`` and when the gateway reported it, in seq order) on its command row;
    return the commands that became refused for good by these results (each once, ever)."""
    refusals: list[Refusal] = []
    for data, at in results:
        parsed = _parse(data)
        if parsed is None:
            log.warning("command_result_malformed", gateway=gateway_id, data=data)
            continue
        counter, kind, result, verified = parsed
        row = db.execute(select(DownlinkCommand).where(
            DownlinkCommand.gateway_id == gateway_id, DownlinkCommand.channel == DOWN_CHANNEL,
            DownlinkCommand.counter == counter).with_for_update()).scalar_one_or_none()
        if row is None:
            log.info("command_result_unknown_counter", gateway=gateway_id, counter=counter, kind=kind,
                     result=result, verified=verified)
            continue
        if row.kind != kind:
            if verified:
                log.warning("command_result_kind_mismatch", gateway=gateway_id, counter=counter, kind=kind,
                            stored_kind=row.kind, result=result)
            continue  # an unverified claim about another kind says nothing about this row
        if rank(result, verified) <= rank(row.result, row.verified):
            continue  # a duplicate, or no more telling than what is known
        was_final = row.verified is not False and row.result in FINAL_REFUSALS
        row.result, row.result_at, row.verified = result, at, verified
        if verified and result in FINAL_REFUSALS and not was_final:
            refusals.append(Refusal(row=row, command=stored_command(row), result=result, at=at))
    db.flush()
    return refusals
