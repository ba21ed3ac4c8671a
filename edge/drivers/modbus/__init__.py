"""Modbus RTU/TCP: one :class:`ModbusBus` per serial line or TCP endpoint, shared by its devices."""

from edge.drivers.modbus.bus import ModbusBus, SerialLine, TcpEndpoint
from protocols.modbus_rtu import frame_gap_s

__all__ = ["ModbusBus", "SerialLine", "TcpEndpoint", "frame_gap_s"]
