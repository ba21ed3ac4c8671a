"""A whole simulated site on one machine, as the end-to-end tests, ``scripts/demo`` and the benchmarks stage it.

- ``world``: the small seeded city (districts, grids, enterprises with a confined space each, users);
- ``cloud``: ``safegrid-cloud serve`` in its own process on a SQLite file, migrated, keyed and seeded;
- ``field``: one site wired to that cloud through its API (people, gateway enrolment, padlock provisioning);
- ``edge_site``: a gateway's keys, edge.toml, gas scenario and signed commands without a cloud;
- ``slice``: the confined-space operation played end to end through the real parts;
- ``receiver``: a minimal acking cloud ingest on a real broker; ``trend``: gas scenarios through the gas monitor.

This is the simulators' side: it imports edge, cloud and protocols (install ``safegrid[stage]`` or ``all``);
edge and cloud never import it, and the device simulators (``fwsim.gas``, ``fwsim.lock``, ``fwsim.phone``) do
not import it either, so they keep needing the ``sim`` extra only.
"""
