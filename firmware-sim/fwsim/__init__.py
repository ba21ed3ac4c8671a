"""Device simulators that speak SafeGrid's real protocols: BLE padlock (bumble), gas detectors and
output modules (pymodbus, RTU and TCP), and the worker phone's reference client."""
