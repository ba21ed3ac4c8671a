"""The padlock's behaviour as a pure state machine: requests in, one response and signed events out.

No I/O and no clock of its own: every call takes the host time, which the lock's RTC model
(:mod:`.clock`) turns into the lock's trusted time. Decisions are the protocol's reference ones
(``protocols.padlock.unlock.decide_unlock``, ``protocols.padlock.pushes.decide_push``); this module keeps
the state they need and records what happens as signed, hash-chained audit entries (:mod:`.audit_log`).
The adapter persists :meth:`PadlockCore.to_record` after every call that changed something, before it
answers, so a power cut never loses an answered request.

An unprovisioned lock (factory state) has a random factory lock id and is in provisioning mode; a
provision that changes the lock id restarts the audit chain (seqs go on), since every entry names its lock.

Junk — a request that proves nothing (``protocols.padlock.results.UNPROVEN_RESULTS``) — costs its link, never the
lock: the adapter passes a link number with each request, and the reply tells it to drop a link at its
``JUNK_PER_LINK``-th junk request. Across links the lock counts junk per ``ABUSE_WINDOW_S`` window and logs
``abuse`` entries (at 10, 100, 1000 … in a window) instead of one ``unlock_refused`` per request, so junk
neither delays a holder nor floods the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fwsim.lock.audit_log import AuditLog
from fwsim.lock.clock import LockClock
from protocols import cbor, crypto
from protocols.errors import GattError, ProtocolError
from protocols.fields import FieldReader
from protocols.padlock import messages as m
from protocols.padlock.advertising import LockAdvert, LockState
from protocols.padlock.audit import AuditEntry
from protocols.padlock.challenges import PendingChallenge
from protocols.padlock.events import EventKind, EventPermit
from protocols.padlock.gatt import ABUSE_THRESHOLD, ABUSE_WINDOW_S, JUNK_PER_LINK, LOCK_ID_LEN, NONCE_LEN
from protocols.padlock.pushes import GasAttestation, LockTrust, TimeSet, TrustList, decide_push, verify_gas_attestation
from protocols.padlock.results import UNPROVEN_RESULTS, result_number
from protocols.padlock.unlock import decide_unlock
from protocols.revocation import RevocationList, revocation_list_from_json, revocation_list_to_json

FIRMWARE = "safegrid-fwsim-padlock 0.1"
LOW_BATTERY_PCT = 20  # below this the lock logs low_battery once and advertises the flag
LOW_BATTERY_CLEAR_PCT = 25  # hysteresis: the flag clears only above this (a fresh battery)
RECORD_VERSION = 2  # 2: revocation lists carry their scope; no backoff state

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class Reply:
    """The one response to a request, then the events it caused (notified after the response)."""

    response: m.Message
    events: tuple[AuditEntry, ...] = ()
    drop_link: bool = False  # the adapter disconnects the link after sending the response (junk limit reached)


def request_type_of(data: bytes) -> int:
    """The message type of an undecodable request, when it is visible at all (else 0)."""
    try:
        kind = cbor.loads(data, max_bytes=len(data) or 1).get(0)
    except (ProtocolError, AttributeError):
        return 0
    return kind if isinstance(kind, int) and not isinstance(kind, bool) and 0 <= kind <= 0xFF else 0


class PadlockCore:
    """One padlock's state and rules. Create with :meth:`factory_new` or :meth:`from_record`."""

    def __init__(self, *, lock_key: Ed25519PrivateKey, lock_id: bytes, clock: LockClock, log: AuditLog,
                 provisioning_mode: bool, random_bytes: RandomBytes = secrets.token_bytes) -> None:
        if len(lock_id) != LOCK_ID_LEN:
            raise ValueError("a lock id is 8 bytes")
        self.lock_key = lock_key
        self.lock_id = lock_id
        self.clock = clock
        self.log = log
        self.provisioning_mode = provisioning_mode
        self.random_bytes = random_bytes
        self.firmware = FIRMWARE
        self.trust: LockTrust | None = None
        self.trust_version = 0
        self.revocations: RevocationList | None = None
        self.attestation: bytes | None = None  # the signed gas attestation held
        self.deferred_trust_list: bytes | None = None  # signed pushes accepted during a session
        self.deferred_revocations: bytes | None = None
        self.challenge: PendingChallenge | None = None  # RAM only: a power cycle voids it
        self.challenge_counter = 0
        # Junk accounting, RAM only (an attacker cannot cut the power): the link being counted and its junk,
        # and the lock-wide abuse window.
        self.junk_link: int | None = None
        self.junk_on_link = 0
        self.abuse_window_start = 0
        self.abuse_count = 0
        self.open = False
        self.session: EventPermit | None = None  # the permit that opened the lock, until it closes
        self.battery: int | None = 100
        self.low_battery = False
        self.tamper_seq = 0  # seq of a tamper/forced-open entry not fetched yet (0: none)

    @classmethod
    def factory_new(cls, host: float, *, random_bytes: RandomBytes = secrets.token_bytes) -> PadlockCore:
        """A lock as it leaves the factory: random key and lock id, RTC set, in provisioning mode."""
        return cls(lock_key=crypto.generate_private_key(), lock_id=random_bytes(LOCK_ID_LEN),
                   clock=LockClock(set_at_host=host, set_to=host), log=AuditLog(), provisioning_mode=True,
                   random_bytes=random_bytes)

    # -- what the lock shows -------------------------------------------------------------------
    @property
    def provisioned(self) -> bool:
        return self.trust is not None

    @property
    def lock_public_key(self) -> bytes:
        return crypto.public_raw(self.lock_key)

    def state_flags(self) -> LockState:
        flags = LockState(0)
        for on, flag in ((self.open, LockState.OPEN), (self.provisioning_mode, LockState.PROVISIONING),
                         (self.low_battery, LockState.LOW_BATTERY), (self.tamper_seq > 0, LockState.TAMPER),
                         (self.session is not None, LockState.SESSION)):
            if on:
                flags |= flag
        return flags

    def advert(self) -> LockAdvert:
        return LockAdvert(lock_id=self.lock_id, state=self.state_flags(), event_seq=self.log.last_seq,
                          battery=self.battery)

    def info(self, host: float) -> m.InfoResponse:
        return m.InfoResponse(lock_id=self.lock_id, state=self.state_flags(), event_seq=self.log.last_seq,
                              battery=self.battery, lock_time=self.clock.now(host), trust_version=self.trust_version,
                              revocation_version=self.revocations.version if self.revocations else 0,
                              lock_key=self.lock_public_key, firmware=self.firmware)

    # -- requests --------------------------------------------------------------------------------
    def handle(self, data: bytes, host: float, link: int = 0) -> Reply:
        """Answer one reassembled request written by a central on ``link`` (the adapter numbers its links)."""
        now = self.clock.now(host)
        try:
            message = m.decode_message(data)
        except GattError as exc:
            code = "unsupported" if exc.code == "unsupported" else "bad_request"
            events, drop = self._junk(link, now)
            return Reply(m.Result(code, request_type_of(data)), events, drop)
        request = int(message.TYPE)
        if isinstance(message, m.InfoRequest):
            return Reply(self.info(host))
        if isinstance(message, m.ChallengeRequest):
            return Reply(self._challenge(message.purpose, now))
        if isinstance(message, m.UnlockRequest):
            return self._unlock(message, now, link)
        if isinstance(message, m.AuditFetch):
            return Reply(self._audit_fetch(message))
        if isinstance(message, m.TrustListPush | m.TimeSetPush | m.RevocationPush | m.GasAttestationPush
                      | m.Provision):
            return self._push(message, now, host)
        events, drop = self._junk(link, now)  # a lock → central message written to the lock
        return Reply(m.Result("unsupported", request), events, drop)

    def _challenge(self, purpose: m.Purpose, now: int) -> m.Message:
        if self.trust is None:
            return m.Result("not_provisioned", int(m.MessageType.CHALLENGE_REQUEST))
        self.challenge_counter += 1
        challenge = m.Challenge(nonce=self.random_bytes(NONCE_LEN), lock_id=self.lock_id,
                                counter=self.challenge_counter, lock_time=now, purpose=purpose)
        self.challenge = PendingChallenge(challenge)
        return challenge

    def _spend_challenge(self) -> None:
        if self.challenge is not None:
            self.challenge = self.challenge.spent()

    def _unlock(self, request: m.UnlockRequest, now: int, link: int) -> Reply:
        decision = decide_unlock(request, now=now, trust=self.trust, challenge=self.challenge,
                                 revocations=self.revocations, attestation=self.attestation)
        self._spend_challenge()
        answered = int(m.MessageType.UNLOCK_REQUEST)
        if decision.ok and decision.claims is not None:
            if self.junk_link == link:
                self.junk_on_link = 0
            self.open = True
            self.session = EventPermit.from_claims(decision.claims)
            return Reply(m.Result("ok", answered), (self._log(EventKind.OPENED, now, permit=self.session),))
        if decision.result not in UNPROVEN_RESULTS:  # gas or state: the holder is told, and it is on record
            return Reply(m.Result(decision.result, answered),
                         (self._log(EventKind.UNLOCK_REFUSED, now, value=result_number(decision.result)),))
        under_abuse = self.abuse_count >= ABUSE_THRESHOLD and self._in_abuse_window(now)
        refused = () if under_abuse else (self._log(EventKind.UNLOCK_REFUSED, now,
                                                    value=result_number(decision.result)),)
        events, drop = self._junk(link, now)
        return Reply(m.Result(decision.result, answered), (*refused, *events), drop)

    def _in_abuse_window(self, now: int) -> bool:
        return self.abuse_window_start <= now < self.abuse_window_start + ABUSE_WINDOW_S

    def _junk(self, link: int, now: int) -> tuple[tuple[AuditEntry, ...], bool]:
        """Count a request that proved nothing: the events it causes, and whether its link is to be dropped."""
        if self.junk_link != link:
            self.junk_link, self.junk_on_link = link, 0
        self.junk_on_link += 1
        if not self._in_abuse_window(now):
            self.abuse_window_start, self.abuse_count = now, 0
        self.abuse_count += 1
        events: tuple[AuditEntry, ...] = ()
        if _is_abuse_mark(self.abuse_count):
            events = (self._log(EventKind.ABUSE, now, value=self.abuse_count),)
        return events, self.junk_on_link >= JUNK_PER_LINK

    def _audit_fetch(self, fetch: m.AuditFetch) -> m.AuditEntries:
        batch, more, through = self.log.fetch(fetch.since_seq, fetch.limit)
        if self.tamper_seq and through >= self.tamper_seq:
            self.tamper_seq = 0  # the gateway has the tamper event now
        return m.AuditEntries(entries=tuple(batch), more=more)

    def held_attestation(self) -> GasAttestation | None:
        if self.attestation is None or self.trust is None:
            return None
        try:
            return verify_gas_attestation(self.attestation, gateway_key=self.trust.gateway_key)
        except GattError:  # signed by a gateway key the lock no longer trusts
            return None

    def _push(self, push: m.Message, now: int, host: float) -> Reply:
        decision = decide_push(push, trust=self.trust, now=now, trust_version=self.trust_version,
                               revocations=self.revocations, held_attestation=self.held_attestation(),
                               challenge=self.challenge, provisioning_mode=self.provisioning_mode,
                               session_open=self.session is not None)
        if isinstance(push, m.TimeSetPush):
            self._spend_challenge()
        result = m.Result(decision.result, int(push.TYPE))
        value = decision.value
        if decision.result == "deferred":
            if isinstance(push, m.TrustListPush):
                self.deferred_trust_list = push.signed
            elif isinstance(push, m.RevocationPush):
                self.deferred_revocations = push.signed
            return Reply(result)
        if decision.result != "ok" or value is None:
            return Reply(result)
        if isinstance(value, LockTrust) and isinstance(push, m.Provision):
            return Reply(result, self._provision(value, push.time, now, host))
        if isinstance(value, TimeSet):
            self.clock.set(value.time, host)
            return Reply(result, (self._log(EventKind.TIME_SET, self.clock.now(host), value=now),))
        if isinstance(value, GasAttestation) and isinstance(push, m.GasAttestationPush):
            self.attestation = push.signed
            return Reply(result)
        return Reply(result, self._adopt(value, now))

    def _adopt(self, value: Any, now: int) -> tuple[AuditEntry, ...]:
        """Apply an accepted trust list or revocation list (now, or when the session closes)."""
        if isinstance(value, TrustList) and self.trust is not None:
            self.trust = LockTrust.from_trust_list(self.lock_id, value)
            self.trust_version = value.version
            return (self._log(EventKind.TRUST_UPDATED, now, value=value.version),)
        if isinstance(value, RevocationList):
            self.revocations = value
            return (self._log(EventKind.REVOCATIONS_UPDATED, now, value=value.version),)
        return ()

    def _provision(self, trust: LockTrust, time: int | None, now: int, host: float) -> tuple[AuditEntry, ...]:
        if trust.lock_id != self.lock_id:
            self.log.restart_chain()
        self.lock_id, self.trust, self.trust_version = trust.lock_id, trust, 0
        self.revocations = self.attestation = self.deferred_trust_list = self.deferred_revocations = None
        self.challenge = None
        self.provisioning_mode = False
        if time is not None:  # the technician's time is trusted outright, floor included
            self.clock.set(time, host)
            self.clock.floor = time
            now = self.clock.now(host)
        return (self._log(EventKind.PROVISIONED, now),)

    # -- physical acts and the lock's own sensors ------------------------------------------------
    def close(self, host: float) -> tuple[AuditEntry, ...]:
        """The attendant closes the shackle: ends the session and applies deferred pushes."""
        if not self.open:
            return ()
        now = self.clock.now(host)
        events = [self._log(EventKind.CLOSED, now, permit=self.session)]
        self.open, self.session = False, None
        events += self._apply_deferred(now, host)
        return tuple(events)

    def _apply_deferred(self, now: int, host: float) -> list[AuditEntry]:
        # Revocations first: a deferred trust list may retire the key that signed them.
        pushes: list[m.Message] = []
        if self.deferred_revocations is not None:
            pushes.append(m.RevocationPush(self.deferred_revocations))
        if self.deferred_trust_list is not None:
            pushes.append(m.TrustListPush(self.deferred_trust_list))
        self.deferred_revocations = self.deferred_trust_list = None
        events: list[AuditEntry] = []
        for push in pushes:
            events += self._push(push, now, host).events
        return events

    def force_open(self, host: float) -> tuple[AuditEntry, ...]:
        """The shackle or body forced: opens without a permit, latches tamper."""
        self.open = True
        entry = self._log(EventKind.FORCED_OPEN, self.clock.now(host))
        self.tamper_seq = entry.seq
        return (entry,)

    def mechanical_key_open(self, host: float) -> tuple[AuditEntry, ...]:
        self.open = True
        return (self._log(EventKind.MECHANICAL_KEY, self.clock.now(host)),)

    def tamper_switch(self, host: float) -> tuple[AuditEntry, ...]:
        return (self._tamper(self.clock.now(host)),)

    def _tamper(self, now: int) -> AuditEntry:
        entry = self._log(EventKind.TAMPER, now)
        self.tamper_seq = entry.seq
        return entry

    def set_battery(self, percent: int | None, host: float) -> tuple[AuditEntry, ...]:
        if percent is not None and not 0 <= percent <= 100:
            raise ValueError("battery is 0..100 %")
        self.battery = percent
        if percent is None:
            return ()
        if percent < LOW_BATTERY_PCT and not self.low_battery:
            self.low_battery = True
            return (self._log(EventKind.LOW_BATTERY, self.clock.now(host), value=percent),)
        if percent > LOW_BATTERY_CLEAR_PCT:
            self.low_battery = False
        return ()

    def power_on(self, host: float) -> tuple[AuditEntry, ...]:
        """Boot: RAM state is gone (no pending challenge), the log records the power-up."""
        self.challenge = None
        return (self._log(EventKind.POWER_ON, self.clock.now(host)),)

    def enter_provisioning_mode(self) -> None:
        """The technician's physical act on the lock (button under the battery cover)."""
        self.provisioning_mode = True

    def _log(self, kind: EventKind, at: int, *, permit: EventPermit | None = None,
             value: int | None = None) -> AuditEntry:
        return self.log.append(kind, at, lock_id=self.lock_id, lock_key=self.lock_key, permit=permit, value=value)

    # -- persistence -----------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """Everything that survives a power cycle, as JSON-ready values."""
        trust = None if self.trust is None else {
            "issuer_keys": {kid.hex(): crypto.public_raw(key).hex() for kid, key in self.trust.issuer_keys.items()},
            "gateway_key": crypto.public_raw(self.trust.gateway_key).hex()}
        return {
            "version": RECORD_VERSION, "lock_key": crypto.private_raw(self.lock_key).hex(),
            "lock_id": self.lock_id.hex(), "provisioning_mode": self.provisioning_mode, "trust": trust,
            "trust_version": self.trust_version,
            "revocations": None if self.revocations is None else revocation_list_to_json(self.revocations),
            "attestation": _hex(self.attestation), "deferred_trust_list": _hex(self.deferred_trust_list),
            "deferred_revocations": _hex(self.deferred_revocations), "challenge_counter": self.challenge_counter,
            "open": self.open,
            "session": None if self.session is None else cbor.dumps(self.session.to_map()).hex(),
            "battery": self.battery, "low_battery": self.low_battery, "tamper_seq": self.tamper_seq,
            "clock": self.clock.to_record(), "audit": self.log.to_record(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], *, random_bytes: RandomBytes = secrets.token_bytes) -> PadlockCore:
        if record.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown lock state version {record.get('version')!r}")
        core = cls(lock_key=crypto.private_key_from_raw(bytes.fromhex(record["lock_key"])),
                   lock_id=bytes.fromhex(record["lock_id"]), clock=LockClock.from_record(record["clock"]),
                   log=AuditLog.from_record(record["audit"]), provisioning_mode=bool(record["provisioning_mode"]),
                   random_bytes=random_bytes)
        if record["trust"] is not None:
            core.trust = LockTrust.from_provision(m.Provision(
                lock_id=core.lock_id, gateway_key=bytes.fromhex(record["trust"]["gateway_key"]),
                issuer_keys={bytes.fromhex(k): bytes.fromhex(v) for k, v in record["trust"]["issuer_keys"].items()}))
        core.trust_version = int(record["trust_version"])
        if record["revocations"] is not None:
            core.revocations = revocation_list_from_json(record["revocations"])
        core.attestation = _unhex(record["attestation"])
        core.deferred_trust_list = _unhex(record["deferred_trust_list"])
        core.deferred_revocations = _unhex(record["deferred_revocations"])
        core.challenge_counter = int(record["challenge_counter"])
        core.open = bool(record["open"])
        if record["session"] is not None:
            core.session = EventPermit.from_map(FieldReader(cbor.loads(bytes.fromhex(record["session"]),
                                                                       max_bytes=512), what="session"))
        core.battery, core.low_battery = record["battery"], bool(record["low_battery"])
        core.tamper_seq = int(record["tamper_seq"])
        return core


def _is_abuse_mark(count: int) -> bool:
    """True at ABUSE_THRESHOLD junk requests in a window, then at 10x, 100x …: a few entries however many."""
    while count > ABUSE_THRESHOLD and count % 10 == 0:
        count //= 10
    return count == ABUSE_THRESHOLD


def _hex(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def _unhex(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text)
