"""SafeGrid wire formats shared by the edge, the cloud, the simulators and device teams.

Pure code, no I/O: permit tokens (COSE/CWT), the padlock GATT protocol, gas-detector Modbus
register profiles, the uplink/downlink envelope and MQTT topics. Every decoder raises a
subclass of :class:`protocols.errors.ProtocolError` on bad input and nothing else.
"""
