"""Downlink commands from the cloud to one gateway, signed so they cannot be forged, replayed or redirected.

A command is a JSON object (``Command``) naming its target ``gateway``, a ``counter`` that only grows and an
expiry. The cloud signs its exact UTF-8 JSON bytes as the payload of a COSE_Sign1 (Ed25519, alg -19, ``kid``
and content type ``application/json`` in the protected header, external AAD ``safegrid/command/v1``) and
sends ``{"v": 1, "cose": <base64url of the COSE_Sign1>}``. ``verify_command`` is the gateway's pure check.

Counters run in two channels, one per MQTT topic: ``ack`` commands on the ack topic, every other kind on
the down topic (and over HTTP). The gateway keeps the last accepted counter of each channel, durably.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, TypeAdapter, model_validator

from protocols import crypto
from protocols.errors import EnvelopeError, ProtocolError
from protocols.uplink.envelope import MAX_ENVELOPE_BYTES, MAX_SMALL_MESSAGE_BYTES, Ack, to_json, unwrap
from protocols.uplink.fields import (
    Blob,
    FreeForm,
    GatewayId,
    Id,
    Message,
    Text,
    TimeMs,
    TimeRequest,
    b64url_decode,
    b64url_encode,
    parse_json,
    parse_python,
)

#: External AAD of every command signature: a signature made for a token, a trust list or anything else
#: never verifies as a command.
COMMAND_AAD = b"safegrid/command/v1"
HDR_CONTENT_TYPE = 3  # COSE header label "content type"
PAYLOAD_CONTENT_TYPE = "application/json"

#: Longest a command may stay valid (a gateway offline longer gets fresh commands when it is back).
MAX_LIFETIME_MS = 7 * 24 * 3600 * 1000
#: Largest COSE_Sign1 of one command (a revocation list or trust list is the biggest body).
MAX_COSE_BYTES = 24 * 1024
#: Most commands one HTTP poll returns.
MAX_COMMANDS_PER_POLL = 100

ACK_CHANNEL: Final = "ack"
DOWN_CHANNEL: Final = "down"
Channel = Literal["ack", "down"]

#: Every reason ``verify_command`` can give, as ``EnvelopeError.code``.
REJECTION_CODES = ("malformed", "too_large", "unknown_kid", "bad_signature", "wrong_gateway", "wrong_channel",
                   "replayed", "expired", "untrusted_clock")

Counter = Annotated[int, Field(ge=1, le=2**63 - 1)]


# -- bodies ----------------------------------------------------------------------------------------------


class PermitClaims(Message):
    """What a gateway needs to know of a permit (the token's claims; binary ids as lowercase hex)."""

    permit_id: Id
    token_id: Id | None = None  # the token's cti, named by the padlock's "opened" event
    enterprise_id: Id
    space_id: Id
    lock_ids: Annotated[list[Id], Field(min_length=1, max_length=16)]
    worker_id: Id
    not_before_ms: TimeMs  # the work window
    not_after_ms: TimeMs
    max_continuous_ms: Annotated[int, Field(ge=1)]
    entrant_limit: Annotated[int, Field(ge=1, le=1000)]
    gas_test_required: bool
    ventilation_required: bool = False
    drill: bool = False

    @model_validator(mode="after")
    def _window(self) -> PermitClaims:
        if self.not_after_ms <= self.not_before_ms:
            raise ValueError("not_after_ms must be after not_before_ms")
        return self


class PermitIssuedBody(Message):
    claims: PermitClaims
    token: Blob | None = None  # the permit token (COSE_Sign1) itself, when the gateway should hold it


class PermitRevokedBody(Message):
    claims: PermitClaims
    revoked_at_ms: TimeMs
    reason: Text | None = None


class RevocationListBody(Message):
    revocation_list: Blob  # the COSE_Sign1 bytes of protocols.revocation, pushed unchanged to the padlocks


class TrustListBody(Message):
    trust_list: Blob  # the signed trust list of the padlock protocol, pushed unchanged to the padlocks


class AlarmAckBody(Message):
    alarm_id: Id
    by: Text  # the cloud user who acknowledged
    at_ms: TimeMs
    space_id: Id | None = None
    note: Text | None = None


class ConfigBody(Message):
    version: Annotated[int, Field(ge=1)]
    settings: FreeForm  # validated by the gateway against its own config model


class TimeBody(Message):
    time_ms: TimeMs  # the cloud's clock when it signed; the gateway adds the delivery delay it can measure
    echo: TimeRequest | None = None  # the gateway's time request this answers (signed after it arrived)


# -- commands --------------------------------------------------------------------------------------------


class _Command(Message):
    v: Literal[1]
    kind: str  # narrowed to one literal by each command kind
    gateway: GatewayId
    counter: Counter
    issued_at_ms: TimeMs
    expires_at_ms: TimeMs

    @model_validator(mode="after")
    def _lifetime(self) -> _Command:
        if not 0 < self.expires_at_ms - self.issued_at_ms <= MAX_LIFETIME_MS:
            raise ValueError(f"expires_at_ms must be after issued_at_ms and within {MAX_LIFETIME_MS} ms of it")
        return self

    @property
    def channel(self) -> Channel:
        return DOWN_CHANNEL


class PermitIssued(_Command):
    kind: Literal["permit_issued"]
    body: PermitIssuedBody


class PermitRevoked(_Command):
    kind: Literal["permit_revoked"]
    body: PermitRevokedBody


class RevocationList(_Command):
    kind: Literal["revocation_list"]
    body: RevocationListBody


class TrustListUpdate(_Command):
    kind: Literal["trust_list_update"]
    body: TrustListBody


class AlarmAck(_Command):
    kind: Literal["alarm_ack"]
    body: AlarmAckBody


class ConfigUpdate(_Command):
    kind: Literal["config"]
    body: ConfigBody


class TimeSet(_Command):
    kind: Literal["time"]
    body: TimeBody


class AckCommand(_Command):
    kind: Literal["ack"]
    body: Ack

    @model_validator(mode="after")
    def _same_gateway(self) -> AckCommand:
        if self.body.gateway != self.gateway:
            raise ValueError("the ack names another gateway than the command")
        return self

    @property
    def channel(self) -> Channel:
        return ACK_CHANNEL


Command = Annotated[
    PermitIssued | PermitRevoked | RevocationList | TrustListUpdate | AlarmAck | ConfigUpdate | TimeSet | AckCommand,
    Field(discriminator="kind"),
]
COMMAND_KINDS = ("permit_issued", "permit_revoked", "revocation_list", "trust_list_update", "alarm_ack", "config",
                 "time", "ack")
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


class SignedCommand(Message):
    """The wire form: a command's COSE_Sign1 as unpadded base64url."""

    v: Literal[1]
    cose: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=(MAX_COSE_BYTES * 4 + 2) // 3)]


class CommandPoll(Message):
    """The HTTP answer to a gateway polling for commands: signed commands, counters increasing."""

    v: Literal[1]
    commands: Annotated[list[SignedCommand], Field(max_length=MAX_COMMANDS_PER_POLL)]


SIGNED_ADAPTER: TypeAdapter[SignedCommand] = TypeAdapter(SignedCommand)
POLL_ADAPTER: TypeAdapter[CommandPoll] = TypeAdapter(CommandPoll)


# -- signing and verifying -------------------------------------------------------------------------------


def make_command(value: Mapping[str, object]) -> Command:
    """A validated command from a plain dict (``v`` may be left out); malformed → EnvelopeError."""
    return parse_python(COMMAND_ADAPTER, {"v": 1, **value}, what="command")


def sign_command(command: Command, key: Ed25519PrivateKey, *, kid: bytes) -> bytes:
    """The wire bytes of ``command`` signed by the cloud key ``kid``."""
    cose = crypto.sign1(to_json(command), key, kid=kid, external_aad=COMMAND_AAD,
                        extra_protected={HDR_CONTENT_TYPE: PAYLOAD_CONTENT_TYPE})
    if len(cose) > MAX_COSE_BYTES:
        raise EnvelopeError(f"signed command of {len(cose)} bytes exceeds {MAX_COSE_BYTES}", code="too_large")
    return to_json(SignedCommand(v=1, cose=b64url_encode(cose)))


def verify_command(data: bytes | SignedCommand, keys: Mapping[bytes, Ed25519PublicKey], *, gateway_id: str,
                   last_counter: int, now_ms: int | None, channel: Channel = DOWN_CHANNEL) -> Command:
    """Check a signed command for this gateway and return it typed; else EnvelopeError with its code.

    ``keys`` are the trusted cloud command keys by kid. ``last_counter`` is the last counter accepted on
    ``channel`` (0 for none); ``channel`` is the topic it came on (``ack`` or ``down``; HTTP polls are
    ``down``). ``now_ms`` is the gateway's wall clock, or None while that clock is not trusted: then only a
    ``time`` command is accepted (it is how the clock becomes trusted), its counter still checked.
    The COSE_Sign1 must follow the profile of uplink spec §5.2 exactly (else ``malformed``, before any key is
    looked up). Checks in this order: malformed/too_large, unknown_kid, bad_signature, then (signed content)
    malformed, wrong_gateway, wrong_channel, replayed, expired/untrusted_clock.
    """
    signed = data if isinstance(data, SignedCommand) else parse_json(
        SIGNED_ADAPTER, unwrap(data, max_bytes=MAX_SMALL_MESSAGE_BYTES), what="signed command")
    raw = b64url_decode(signed.cose, field="cose")
    try:
        # The strict profile of §5.2: tagged, deterministically encoded, protected header exactly alg,
        # content type and kid, unprotected header empty; so one command has one encoding and nothing unsigned.
        sign1 = crypto.decode_sign1_strict(raw, max_bytes=MAX_COSE_BYTES, error=EnvelopeError,
                                           also_protected=frozenset({HDR_CONTENT_TYPE}))
        crypto.verify_sign1(sign1, keys, external_aad=COMMAND_AAD, error=EnvelopeError)
    except EnvelopeError:
        raise
    except ProtocolError as exc:  # defensive: the shared COSE code must surface as this format's error
        raise EnvelopeError(str(exc), code=exc.code, field=exc.field) from None
    if sign1.protected.get(HDR_CONTENT_TYPE) != PAYLOAD_CONTENT_TYPE:
        raise EnvelopeError("the signed payload is not declared application/json", field="content_type")
    command: Command = parse_json(COMMAND_ADAPTER, sign1.payload, what="command")
    if command.gateway != gateway_id:
        raise EnvelopeError(f"command for gateway {command.gateway!r}", code="wrong_gateway", field="gateway")
    if command.channel != channel:
        raise EnvelopeError(f"a {command.kind} command does not belong on the {channel} channel",
                            code="wrong_channel", field="kind")
    if command.counter <= last_counter:
        raise EnvelopeError(f"counter {command.counter} is not above {last_counter}", code="replayed",
                            field="counter")
    if now_ms is None:
        if command.kind != "time":
            raise EnvelopeError("the gateway clock is not trusted: only a time command is accepted",
                                code="untrusted_clock", field="expires_at_ms")
    elif now_ms >= command.expires_at_ms:
        raise EnvelopeError(f"expired at {command.expires_at_ms}", code="expired", field="expires_at_ms")
    return command


def encode_poll(signed: list[bytes]) -> bytes:
    """The HTTP poll answer carrying already-signed commands (as returned by ``sign_command``)."""
    items = [parse_json(SIGNED_ADAPTER, s, what="signed command") for s in signed]
    return to_json(CommandPoll(v=1, commands=items))


def decode_poll(data: bytes) -> list[SignedCommand]:
    """The signed commands of an HTTP poll answer, each still to be checked with ``verify_command``."""
    return parse_json(POLL_ADAPTER, unwrap(data, max_bytes=MAX_ENVELOPE_BYTES), what="command poll").commands
