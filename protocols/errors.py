"""The one exception root of the protocols package; each wire format has its own subclass.

A decoder or verifier never lets another exception escape: callers catch ``ProtocolError``
(or the subclass of the format they speak) and read ``code`` for a machine-readable reason.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Bad input for a wire format. ``code`` is stable and machine-readable; ``field`` names the part."""

    default_code = "malformed"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        self.code = code or self.default_code
        self.field = field
        super().__init__(message)

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.args[0]}"


class CborError(ProtocolError):
    """Bytes that are not the single, bounded CBOR item a format expects."""


class SignatureError(ProtocolError):
    """A COSE_Sign1 structure that is malformed or whose signature does not verify."""

    default_code = "bad_signature"


class TokenError(ProtocolError):
    """A permit token was rejected; ``code`` is one of ``protocols.token.REJECTION_CODES``."""


class GattError(ProtocolError):
    """A padlock GATT message that cannot be decoded or is not valid in the protocol."""


class FragmentError(GattError):
    """A fragment stream that is oversize, out of order, duplicated or truncated."""


class ProfileError(ProtocolError):
    """A gas-detector register profile, or registers read with it, that cannot be decoded."""


class EnvelopeError(ProtocolError):
    """An uplink/downlink envelope or command that is malformed, forged, replayed or misdirected."""
