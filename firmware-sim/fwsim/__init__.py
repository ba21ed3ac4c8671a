"""Device simulators that speak SafeGrid's real protocols: BLE padlock (bumble), gas detectors and
output modules (pymodbus, RTU and TCP), and the worker phone's reference client.

``fwsim.rig`` launches the real services a simulated site needs (broker, database, serial line, radio) and
``fwsim.stage`` builds a whole site (seeded cloud, gateway, simulators) for the demo, the benchmarks and the
tests; both are imported only on demand, so the device simulators alone need just the ``sim`` extra."""
