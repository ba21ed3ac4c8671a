"""Rewrite every test-vector file: ``python -m protocols.vectorgen``."""

from protocols.vectorgen import write_all

for path in write_all():
    print(f"wrote {path.name}")
