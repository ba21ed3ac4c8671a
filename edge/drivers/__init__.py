"""Thin adapters to devices: Modbus detectors and output modules, BLE padlocks."""
