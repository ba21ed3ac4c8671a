"""The gateway's pure safety core: limits, gas evaluation, exposure, alarms, attestation and sessions.

Nothing here does I/O, reads a clock or uses asyncio; the adapters (drivers, outbox, uplink) feed it inputs and
execute the actions it returns, so every safety decision can be tested exhaustively.

Time convention (the same in every module):

- *monotonic seconds* (``float``) measure durations within one boot: reading times (``Reading.at``), staleness,
  exposure windows, trends, in-range intervals, mute expiry. Only differences matter.
- *wall seconds* (``int``, UNIX epoch) stamp records and anything that must survive a restart: alarm events,
  permit windows, session deadlines, attestation validity.

Calls that need both take a :class:`~edge.core.clock.Now`.
"""
