"""Launchers for the real services a simulated site runs on one machine: a private Mosquitto broker, a throwaway
PostgreSQL cluster, a pty serial line (socat or an os.openpty bridge), bumble virtual BLE radios, and finding the
binaries they need. Each one writes its output to a log in its own temp dir and stops cleanly.

Shared by the test rig's fixtures (``tests/rig``, ``tests/conftest.py``), ``scripts/demo`` and the benchmarks.
Nothing here imports edge or cloud; ``radio`` needs bumble (the ``sim`` extra), ``postgres`` psycopg (``cloud``).
"""
