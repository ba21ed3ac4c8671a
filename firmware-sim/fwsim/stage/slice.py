"""The first vertical slice as one scripted flow, shared by the end-to-end tests and ``scripts/demo``.

The caller brings the real parts — a running cloud, the far end of a serial line with the gas simulator on it,
three HCI transports of one virtual radio (gateway, padlock, phone) and the uplink section of edge.toml — and
:meth:`Slice.run` plays the operation through them, checking each step's outcome as it goes (a step that does
not happen within its generous timeout raises :class:`SliceFailed` naming it). ``say(what, why)`` is told of
every step (the demo prints it); every record the gateway makes goes to ``on_record`` as well.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from fwsim.gas import GasSimulator
from fwsim.lock import PadlockPeripheral
from fwsim.lock.radio import hci_device
from fwsim.phone import OnlineFirst, Phone, TokenCache
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.cloud_tokens import CloudTokens
from fwsim.stage.cloud import CloudProcess
from fwsim.stage.edge_site import SPIKE_AT, SPIKE_END, RunningClock
from fwsim.stage.field import GATEWAY, FieldSite
from fwsim.stage.world import PASSWORD

STEP_S = 45.0  # generous: every hop is real (radio visits wait out the protocol's reconnect gap; HTTP polls)

Record = tuple[int, str, dict[str, Any]]
Say = Callable[..., None]  # say(what, why="")


def quiet(_what: str, _why: str = "") -> None:
    """The default ``say``: the tests assert, they do not narrate."""


class SliceFailed(AssertionError):
    """A step of the slice did not happen (or not as it should)."""


async def no_ntp() -> None:
    """No NTP here as far as the gateway knows: only the cloud's signed time makes its clock trusted."""
    return None


async def until(check: Callable[[], Any], what: str, timeout_s: float = STEP_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SliceFailed(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)
    return value


async def until_async(check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = STEP_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise SliceFailed(f"timed out waiting for: {what}")
        await asyncio.sleep(0.2)
    return value


@dataclass
class SliceResult:
    permit: dict[str, Any]
    alert: dict[str, Any]  # the level-2 alarm's alert at the end
    records: list[Record]
    unlock_words: str


@dataclass
class Slice:
    cloud: CloudProcess
    root: Path
    serial: str  # the gateway's end of the line (the gas simulator serves the other end)
    gas: tuple[GasSimulator, RunningClock]
    transports: tuple[str, str, str]  # gateway, padlock, phone
    uplink: Callable[[FieldSite], str] = FieldSite.http_uplink
    say: Say = quiet
    on_record: Callable[[int, str, dict[str, Any]], None] | None = None
    serve: bool = False  # the gateway's attendant console and health endpoint on (the demo's serve mode)
    records: list[Record] = field(default_factory=list)
    daemon: Daemon | None = None

    def _record(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        self.records.append((seq, kind, body))
        if self.on_record is not None:
            self.on_record(seq, kind, body)

    async def run(self, *, after: Callable[[Daemon], Awaitable[None]] | None = None) -> SliceResult:
        """Set the site up, run the operation, stop everything; ``after`` runs before the gateway stops."""
        async with httpx.AsyncClient(base_url=self.cloud.base_url, timeout=30) as http:
            site = FieldSite(self.cloud, http, self.root)
            await site.set_up()
            self.say(f"technician: gateway {GATEWAY} enrolled (epoch {site.enrolment['epoch']}), padlock "
                     f"{site.lock_id} provisioned", "one-time code + CSR → certificate and device token")
            gateway, lock_hci, phone_hci = self.transports
            config = load_edge_config(site.edge_config(serial=self.serial, hci=gateway, uplink=self.uplink(site),
                                                       serve=self.serve))
            daemon = self.daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp), on_record=self._record)
            async with hci_device(lock_hci, "padlock") as lock_device, hci_device(phone_hci, "phone") as phone_device:
                await phone_device.power_on()
                lock = PadlockPeripheral(lock_device, site.lock, advertising_interval_ms=20.0)
                await lock.start()
                await daemon.start()
                try:
                    result = await self._operation(site, daemon, lock, phone_device)
                    if after is not None:
                        await after(daemon)
                finally:
                    await daemon.stop()
                    await lock.stop()
        return result

    async def _operation(self, site: FieldSite, daemon: Daemon, lock: PadlockPeripheral,
                         phone_device: Any) -> SliceResult:
        say = self.say
        sim, scenario_clock = self.gas
        session = lambda: daemon.spaces[site.space].session  # noqa: E731
        # Nobody queues it: the cloud signs a time command for a gateway due one (its poll, the publisher's round).
        await until(lambda: daemon.clock_keeper.trusted_ms() is not None,
                    "the gateway's clock trusted from the cloud's signed time")
        say("cloud → gateway: signed time; the gateway's clock is trusted", "a Pi has no battery-backed clock")

        permit = await site.apply_and_approve()
        if permit["status"] != "approved" or len(permit["tokens"]) != 1:
            raise SliceFailed(f"the permit was not issued: {permit['status']}")
        say(f"cloud: permit {permit['uid'][:8]}… applied by mgr1, approved by appr1",
            "qualifications checked; a token for W1's phone key; pushed to the space's gateway")
        await until(lambda: (p := session().permit) is not None and p.permit_id == permit["uid"],
                    "the permit pushed to the gateway")
        await until(lambda: session().phase.value == "tested", "the pre-entry gas test passed")
        radio = daemon.radio
        await until(lambda: radio.results.get((site.lock_id, "gas_attestation")) == "ok",
                    "the gas attestation delivered to the padlock")
        say("gateway → padlock over the radio: gas attestation accepted", "the padlock opens only after a gas test")

        tokens = await CloudTokens.login(self.cloud.base_url, "worker1", PASSWORD)
        phone = Phone(BumbleCentral(phone_device), site.phone_key,
                      OnlineFirst(tokens, TokenCache(self.root / "phone-tokens")))
        outcome = await asyncio.wait_for(phone.unlock(site.lock.lock_id, scan_timeout_s=STEP_S), STEP_S)
        say(f"phone: token fetched from the cloud; the padlock answers: {outcome.in_words()}",
            "challenge → proof of possession with the phone key")
        if not outcome.ok:
            raise SliceFailed(f"the padlock refused the phone: {outcome.in_words()}")
        await until(lambda: session().phase.value == "in_work", "the gateway saw the padlock open")
        await daemon.entrant_in(site.space, "W1")

        async def working() -> list[dict[str, Any]]:
            # The gateway restates the session when the count changes: W1 inside shows as one entrant.
            return [s for s in await site.live_sessions() if s["state"] == "in_work" and s["entrants"] == 1]

        live = await until_async(working, "the session at work with W1 inside in the cloud's live view")
        if live[0]["permit_id"] != permit["uid"] or live[0]["space_id"] != site.space_id:
            raise SliceFailed(f"the cloud's live view shows another session: {live[0]}")
        say(f"cloud live view: session {live[0]['state']} at {live[0]['space_name']}, {live[0]['entrants']} inside",
            f"deadline in {live[0]['remaining_s']} s")

        say("scenario: sludge disturbed, H2S rising")
        scenario_clock.jump(SPIKE_AT)

        async def raised_alarm() -> dict[str, Any] | None:
            return next((a for a in await site.alerts(kind="alarm", state="raised") if a["cause"] == "gas_level2"),
                        None)

        alert = await until_async(raised_alarm, "the level-2 H2S alarm as a cloud alert")
        card = alert["rescue_card"] or {}
        if alert["gateway_id"] != GATEWAY or card.get("rescue_equipment") != ["三脚架"]:
            raise SliceFailed(f"the alert lacks the gateway or the space's rescue card: {alert}")
        say(f"cloud alert #{alert['id']}: {alert['title']}",
            f"rescue card: {', '.join(card['rescue_equipment'])}; call {card['emergency_contacts'][0]['phone']}")
        await daemon.entrant_out(site.space, "W1")

        for raised in await site.alerts(kind="alarm", state="raised"):
            await site.call("POST", f"/api/v1/alerts/{raised['id']}/acknowledge", "att1", json={"note": "人员已撤离"})
        say("attendant acknowledges in the cloud", "signed alarm_ack commands to the gateway")
        alarm_id = int(alert["alarm_id"])
        await until(lambda: daemon.dispatcher is not None
                    and any(kind == "alarm_ack" and result == "gas_present"
                            for _c, kind, result in daemon.dispatcher.results),
                    "the level-2 acknowledgement refused at the gateway (gas present)")
        if any(a.id == alarm_id and a.acknowledged for a in daemon.alarms.open_alarms()):
            raise SliceFailed("a level-2 alarm was acknowledged while the gas was still out of range")
        say("gateway: level-2 acknowledgement refused while the gas is present (command_result gas_present)")

        async def refusal_shown() -> dict[str, Any] | None:
            shown = await site.call("GET", f"/api/v1/alerts/{alert['id']}", "att1")
            return shown if shown["state"] == "raised" and (shown["refusal"] or {}).get("code") == "gas_present" \
                else None

        shown = await until_async(refusal_shown, "the cloud showing the gateway's refusal on the alert")
        say(f"cloud: alert #{alert['id']} raised again, the gateway's refusal shown ({shown['refusal']['code']})",
            shown["refusal"]["reason"].split("，")[0])
        scenario_clock.jump(SPIKE_END)
        await until(lambda: not any(a.active and a.key.kind.value.startswith("gas_")
                                    for a in daemon.alarms.open_alarms()), "the gas back in range")
        sim.output_module(10).press("ack")  # the attendant at the hatch acknowledges once the gas has cleared
        await until(lambda: not any(a.key.kind.value.startswith("gas_") for a in daemon.alarms.open_alarms()),
                    "the gas alarms acknowledged at the hatch once the gas was back")
        sim.output_module(10).release("ack")
        say("attendant: acknowledges at the hatch once the gas is back in range")
        await until(lambda: not sim.output_module(10).coils["siren"], "the siren silenced")

        say("attendant: everyone is out; closes the padlock")
        await lock.close()
        await until(lambda: session().phase.value == "closed", "the session closed at the gateway")
        await until_async(lambda: _none_open(site), "the session gone from the cloud's live view")
        await until(lambda: daemon.outbox is not None and daemon.outbox.count == 0,
                    "every record stored by the cloud (the outbox drained)")
        final = await site.call("GET", f"/api/v1/alerts/{alert['id']}", "att1")
        say(f"cloud: alert #{final['id']} {final['state']}, acknowledged by {final['acknowledged_by']}; "
            "no session open; the gateway's outbox is empty", "the cloud acknowledged every record it stored")
        return SliceResult(permit=permit, alert=final, records=list(self.records), unlock_words=outcome.in_words())


async def _none_open(site: FieldSite) -> bool:
    return not await site.live_sessions()


def first(records: list[Record], record_kind: str, /, **match: Any) -> int:
    """The seq of the first record of ``record_kind`` whose body (or its ``data``) has the given values."""
    for seq, kind, body in records:
        fields = {**body.get("data", {}), **body}
        if kind == record_kind and all(fields.get(f) == v for f, v in match.items()):
            return seq
    raise SliceFailed(f"no {record_kind} record with {match}")


def check_order(records: list[Record]) -> list[int]:
    """The slice's records each once, in the order of the operation; the seqs of its milestones."""
    seqs = [seq for seq, _k, _b in records]
    if seqs != sorted(set(seqs)):
        raise SliceFailed("the gateway's records are not numbered once each in order")
    opened = first(records, "lock_audit", event="opened")
    # The pushed permit authorizes the session (its command result is reported once handled); attested before open.
    if not first(records, "session", state="authorized") < first(
            records, "event", type="command_result", kind="permit_issued", result="applied") < opened:
        raise SliceFailed("the permit was not pushed before the padlock opened")
    if not first(records, "event", type="attestation_issued") < opened:
        raise SliceFailed("the padlock opened before the gas attestation")
    order = [first(records, "session", state="authorized"), first(records, "session", state="tested"), opened,
             first(records, "session", state="in_work"), first(records, "event", type="entrant_in"),
             first(records, "alarm", cause="gas_level2", state="raised"),
             first(records, "event", type="command_result", kind="alarm_ack", result="gas_present"),
             first(records, "alarm", cause="gas_level2", state="cleared"),
             first(records, "alarm", cause="gas_level2", state="acknowledged", by="local_input"),
             first(records, "lock_audit", event="closed"), first(records, "session", state="closed")]
    if order != sorted(order):
        raise SliceFailed(f"the operation's records are out of order: {order}")
    return order
