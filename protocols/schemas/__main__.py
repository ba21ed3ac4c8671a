"""Rewrite every uplink/downlink JSON Schema file: ``python -m protocols.schemas``."""

from protocols.schemas import write_all

for path in write_all():
    print(f"wrote {path.name}")
