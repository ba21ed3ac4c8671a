"""The SafeGrid padlock BLE GATT protocol (spec: ``protocols/padlock.md``).

Modules, each with one job: ``gatt`` (UUIDs, sizes, connection policy), ``advertising`` (the advert),
``fragment`` (ATT-MTU fragmentation and reassembly), ``fields`` (strict reading of CBOR maps),
``messages`` (the CBOR messages; ``PushKind``, the one name of each signed push), ``results`` (the
result-code table), ``events`` and ``audit`` (signed, hash-chained lock events), ``challenges`` (the
single-use challenge check), ``pushes`` (signed trust list, time set, revocation list, gas attestation; the
reference push handling) and ``unlock`` (the reference unlock decision a lock firmware ports). Pure and
I/O-free: the central that drives it over a radio is ``padlock_client``.
"""
