"""The padlock process's console: one command per line on stdin drives the physical acts and faults.

    close                 the attendant closes the shackle
    force-open            the shackle is forced (tamper)
    mechanical-key        opened with the override key
    tamper                the tamper switch trips
    battery PCT           set the battery level (below 20 % logs low_battery)
    drift PPM             the RTC runs PPM parts per million fast (negative: slow)
    slow SECONDS          answer each request this much later (0: normal)
    drop-request [N]      cut the link mid-message on the next N multi-fragment requests
    drop-response [N]     cut the link mid-message on the next N multi-fragment responses
    power-cycle [rtc]     cut the power and boot again (``rtc``: the RTC battery is flat too)
    provisioning          the technician's button: accept a provision message
    status                print the lock's state
"""

from __future__ import annotations

import json

from fwsim.lock.peripheral import PadlockPeripheral

COMMANDS = ("close", "force-open", "mechanical-key", "tamper", "battery", "drift", "slow", "drop-request",
            "drop-response", "power-cycle", "provisioning", "status", "help")


def status(lock: PadlockPeripheral) -> str:
    core = lock.core
    return json.dumps({
        "lock_id": core.lock_id.hex(), "state": [str(flag.name).lower() for flag in type(core.state_flags())
                                                 if flag in core.state_flags()],  # members always have names
        "event_seq": core.log.last_seq, "battery": core.battery, "lock_time": core.clock.now(lock.host_clock()),
        "connected": lock.connected, "links_dropped_for_junk": lock.links_dropped_for_junk,
        "abuse_count": core.abuse_count, "trust_version": core.trust_version,
    })


async def run_command(lock: PadlockPeripheral, line: str) -> str:
    """Apply one console line; returns what to print. ValueError for a line that is not a command."""
    words = line.split()
    if not words:
        return ""
    name, args = words[0].lower(), words[1:]
    if name not in COMMANDS:
        raise ValueError(f"unknown command {name!r}; try: {', '.join(COMMANDS)}")
    if name == "help":
        return __doc__ or ""
    if name == "status":
        return status(lock)
    simple = {"close": lock.close, "force-open": lock.force_open, "mechanical-key": lock.mechanical_key_open,
              "tamper": lock.tamper, "provisioning": lock.enter_provisioning_mode}
    if name in simple:
        await simple[name]()
    elif name == "battery":
        await lock.set_battery(int(_one(args, name)))
    elif name == "drift":
        await lock.set_drift(float(_one(args, name)))
    elif name == "slow":
        lock.faults.response_delay_s = max(0.0, float(_one(args, name)))
    elif name in ("drop-request", "drop-response"):
        count = int(args[0]) if args else 1
        if name == "drop-request":
            lock.faults.drop_mid_request = count
        else:
            lock.faults.drop_mid_response = count
    else:  # power-cycle
        await lock.power_cycle(rtc_reset=args[:1] == ["rtc"])
    return f"done: {line.strip()}"


def _one(args: list[str], name: str) -> str:
    if len(args) != 1:
        raise ValueError(f"{name} takes one value")
    return args[0]
