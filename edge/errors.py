"""The one exception root of the edge package; subclasses carry a stable ``code`` and the ``field`` involved."""

from __future__ import annotations


class EdgeError(Exception):
    default_code = "edge_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        self.code = code or self.default_code
        self.field = field
        super().__init__(message)


class DriverError(EdgeError):
    """A device could not be reached or answered wrongly."""

    default_code = "driver_error"


class ModbusError(DriverError):
    """A Modbus transaction failed. Codes: ``timeout``, ``port_lost``, ``exception`` (the device answered with a
    Modbus exception; ``exception_code`` says which), ``bad_response``."""

    def __init__(self, message: str, *, code: str, exception_code: int | None = None) -> None:
        self.exception_code = exception_code
        super().__init__(message, code=code)
