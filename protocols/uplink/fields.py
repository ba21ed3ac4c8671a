"""Field types shared by every uplink/downlink message: ids, codes, base64url blobs and the strict base model.

One place decides what an id may contain and how binary travels in JSON, so the envelope, the commands and
the MQTT topics agree. Every message model is strict (no coercion of "5" into 5), refuses unknown fields
and non-finite numbers, and is immutable once parsed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from protocols.errors import EnvelopeError

T = TypeVar("T")

PROTOCOL_VERSION = 1

#: A gateway id also names its MQTT topics: letters, digits, '-' and '_' only, so it can never inject the
#: topic separators or wildcards ('/', '+', '#') or start a '$' system topic.
GATEWAY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
GATEWAY_ID_RE = re.compile(GATEWAY_ID_PATTERN)

#: Other ids (space, detector, lock, permit, alarm, session, worker …): binary ids travel as lowercase hex,
#: registry ids as they are; either way a short string of this safe charset.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

#: Machine-readable vocabulary words (alarm causes, event types, session states, status flags).
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"

#: Unix time in milliseconds is used for every timestamp of this protocol (fields end in ``_ms``).
MAX_TIME_MS = 2**53 - 1  # exact in a JSON double, so a JavaScript console reads the same number
MAX_SEQ = 2**63 - 1  # a signed 64-bit column in SQLite and PostgreSQL

#: The most one free-form JSON object (event data, config settings) may take, serialized.
MAX_FREE_FORM_BYTES = 4096
#: The most raw bytes one base64url blob (a COSE structure, a lock audit entry) may carry.
MAX_BLOB_BYTES = 8192

GatewayId = Annotated[str, StringConstraints(pattern=GATEWAY_ID_PATTERN)]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Seq = Annotated[int, Field(ge=1, le=MAX_SEQ)]
Epoch = Annotated[int, Field(ge=1, le=2**31 - 1)]
TimeMs = Annotated[int, Field(ge=0, le=MAX_TIME_MS)]
Text = Annotated[str, StringConstraints(max_length=200)]


def b64url_encode(data: bytes) -> str:
    """RFC 4648 §5 base64url without padding — how every binary value travels in these JSON messages."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_decode(text: str, *, field: str | None = None) -> bytes:
    """Strict base64url (no padding, no stray characters, canonical trailing bits); else EnvelopeError."""
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise EnvelopeError("not unpadded base64url", field=field)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"not base64url: {exc}", field=field) from exc
    if b64url_encode(raw) != text:  # non-zero padding bits: two spellings of one value are refused
        raise EnvelopeError("non-canonical base64url", field=field)
    return raw


def _check_blob(text: str) -> str:
    try:
        raw = b64url_decode(text)
    except EnvelopeError as exc:
        raise ValueError(str(exc)) from None
    if len(raw) > MAX_BLOB_BYTES:
        raise ValueError(f"more than {MAX_BLOB_BYTES} bytes")
    return text


def _check_free_form(value: dict[str, Any]) -> dict[str, Any]:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not plain JSON: {exc}") from None
    if len(text.encode()) > MAX_FREE_FORM_BYTES:
        raise ValueError(f"more than {MAX_FREE_FORM_BYTES} bytes of JSON")
    return value


#: Binary data as unpadded base64url, at most MAX_BLOB_BYTES once decoded.
Blob = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]*$", max_length=(MAX_BLOB_BYTES * 4 + 2) // 3),
                 AfterValidator(_check_blob)]
#: A small free-form JSON object (event details, config settings), at most MAX_FREE_FORM_BYTES serialized.
FreeForm = Annotated[dict[str, Any], AfterValidator(_check_free_form)]


class Message(BaseModel):
    """Base of every uplink/downlink model: strict types, unknown fields refused, no NaN, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def parse_json(adapter: TypeAdapter[T], data: bytes | str, *, what: str) -> T:
    """Validate JSON text against ``adapter``; any failure is EnvelopeError (malformed) naming the field."""
    try:
        return adapter.validate_json(data)
    except ValidationError as exc:
        raise _malformed(exc, what) from None
    except (ValueError, RecursionError, TypeError) as exc:  # defensive: the parser must never leak another type
        raise EnvelopeError(f"{what}: {exc}") from None


def parse_python(adapter: TypeAdapter[T], value: Any, *, what: str) -> T:
    """Validate an already-decoded value (dicts from the outbox, from a test) against ``adapter``."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _malformed(exc, what) from None
    except (ValueError, RecursionError, TypeError) as exc:
        raise EnvelopeError(f"{what}: {exc}") from None


def _malformed(exc: ValidationError, what: str) -> EnvelopeError:
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"]) or None
    more = exc.error_count() - 1
    suffix = f" (and {more} more)" if more else ""
    return EnvelopeError(f"{what}: {first['msg']}{suffix}", field=loc)


#: A gateway's time request (uplink spec §5.5): opaque to the cloud, which echoes it unchanged in the ``time``
#: command answering it; the gateway makes it so it can tell its own requests and when it sent each.
TIME_REQUEST_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TimeRequest = Annotated[str, Field(pattern=TIME_REQUEST_PATTERN)]
