"""Read Device Identification (function 43, MEI 14) answered per unit id.

pymodbus 3.16 answers 43/14 from one process-wide identity (its ModbusControlBlock), so every unit on every
simulated bus would give the same serial number. This request class, registered with a server through
``custom_pdu``, answers from the objects of the unit addressed instead.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from pymodbus.constants import DeviceInformation, ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse

MEI_READ_DEVICE_ID = 0x0E
# Object ids each read device id code returns (Modbus application protocol 6.21).
_RANGES = {DeviceInformation.BASIC: range(0x00, 0x03), DeviceInformation.REGULAR: range(0x00, 0x07),
           DeviceInformation.EXTENDED: range(0x00, 0x100)}

Objects = Mapping[int, Mapping[int, bytes]]  # unit id → object id → value


def device_identification_pdu(objects: Objects) -> type[ModbusPDU]:
    """A request class answering 43/14 from ``objects`` (kept by reference: later changes are served)."""

    class ReadDeviceIdentification(ModbusPDU):
        function_code = 0x2B
        rtu_frame_size = 7  # unit, function, MEI type, read code, object id, CRC (2)

        def __init__(self, dev_id: int = 1, transaction_id: int = 0) -> None:
            super().__init__(dev_id=dev_id, transaction_id=transaction_id)
            self.mei_type = MEI_READ_DEVICE_ID
            self.read_code = DeviceInformation.BASIC
            self.object_id = 0

        # sub_function_code stays -1 so the decoder keeps this class instead of swapping in pymodbus's own.
        def encode(self) -> bytes:
            return struct.pack(">BBB", self.mei_type, self.read_code, self.object_id)

        def decode(self, data: bytes) -> None:
            self.mei_type, self.read_code, self.object_id = struct.unpack(">BBB", data[:3])

        async def datastore_update(self, context: object, device_id: int) -> ModbusPDU:
            _ = context
            if self.mei_type != MEI_READ_DEVICE_ID:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
            unit_objects = objects.get(device_id, {})
            if self.read_code == DeviceInformation.SPECIFIC:
                if self.object_id not in unit_objects:
                    return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
                information = {self.object_id: unit_objects[self.object_id]}
            elif self.read_code in _RANGES:
                wanted = _RANGES[self.read_code]
                information = {oid: value for oid, value in sorted(unit_objects.items())
                               if oid in wanted and oid >= self.object_id}
            else:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
            return ReadDeviceInformationResponse(read_code=self.read_code, information=information,
                                                 dev_id=device_id, transaction_id=self.transaction_id)

    return ReadDeviceIdentification
