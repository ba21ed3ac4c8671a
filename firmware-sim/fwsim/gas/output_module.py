"""A simulated alarm output module, pure: relay coils the gateway switches, local inputs a test can press,
a heartbeat and the gateway watchdog. Time is passed in (scenario seconds).

Watchdog (``protocols/gas_detector.md`` §2): once the gateway has written the watchdog register, if it then goes
``timeout_s`` without a new value, the module switches on its ``on_expiry`` outputs by itself and leaves them on
until the gateway writes them. It is armed by the first write: a module that never had a gateway (on the bench,
before commissioning) stays quiet.
"""

from __future__ import annotations

from protocols.gasprofile import DeviceIdentity, Image, OutputModuleProfile, OutputModuleState, encode_output_module


class OutputModule:
    """One module's state. ``coils``/``inputs`` are by output/input name, as in the profile."""

    def __init__(self, profile: OutputModuleProfile, unit: int) -> None:
        self.profile = profile
        self.unit = unit
        self._coils = dict.fromkeys(profile.outputs, False)
        self._inputs = dict.fromkeys(profile.inputs, False)
        self._by_coil = {ch.coil: name for name, ch in profile.outputs.items()}
        self.now = 0.0
        self.watchdog_value: int | None = None
        self._watchdog_changed_at: float | None = None
        self.watchdog_expiries = 0
        self.identity = DeviceIdentity(vendor="SafeGrid Sim", model="OM4-SIM", serial=f"SGSIM-{unit:03d}",
                                       firmware="1.0.0")

    # -- what tests and benchmarks look at ------------------------------------------------------------------
    @property
    def coils(self) -> dict[str, bool]:
        """The outputs now, by name: ``{"siren": True, "beacon": False, ...}``."""
        return dict(self._coils)

    @property
    def inputs(self) -> dict[str, bool]:
        return dict(self._inputs)

    def press(self, name: str = "ack") -> None:
        """Hold a local input active (the attendant presses the acknowledge button)."""
        self._input(name, True)

    def release(self, name: str = "ack") -> None:
        self._input(name, False)

    def _input(self, name: str, on: bool) -> None:
        if name not in self._inputs:
            raise KeyError(f"no input {name!r}; have {sorted(self._inputs)}")
        self._inputs[name] = on

    # -- time and the bus ------------------------------------------------------------------------------------
    def advance_to(self, t: float) -> None:
        """Move to scenario time ``t``; a watchdog that ran out on the way switches its outputs on."""
        if t < self.now:
            raise ValueError(f"time went backwards: {t} < {self.now}")
        watchdog = self.profile.watchdog
        if (watchdog is not None and self._watchdog_changed_at is not None
                and t - self._watchdog_changed_at >= watchdog.timeout_s):
            for name in watchdog.on_expiry:
                self._coils[name] = True
            self.watchdog_expiries += 1
            self._watchdog_changed_at = None  # expired: re-armed by the gateway's next write
        self.now = t

    def write_coils(self, address: int, values: list[bool]) -> bool:
        """A gateway write (function 5 or 15) at the current time; False if it touches an unmapped coil."""
        names = [name for i in range(len(values)) if (name := self._by_coil.get(address + i)) is not None]
        if len(names) != len(values):
            return False
        for name, value in zip(names, values, strict=True):
            self._coils[name] = bool(value)
        return True

    def write_watchdog(self, value: int) -> None:
        """The gateway wrote the watchdog register at the current time; a new value restarts the timeout."""
        if value != self.watchdog_value or self._watchdog_changed_at is None:
            self._watchdog_changed_at = self.now
        self.watchdog_value = value

    def state(self) -> OutputModuleState:
        heartbeat = int(self.now) & 0xFFFF if self.profile.heartbeat is not None else None
        return OutputModuleState(profile=self.profile.id, outputs=self.coils, inputs=self.inputs,
                                 heartbeat=heartbeat, identity=None)

    def image(self) -> Image:
        """Coils, discrete inputs and registers served now, plus the watchdog register's last value."""
        image = encode_output_module(self.profile, self.state())
        if self.profile.watchdog is not None:
            image.setdefault(3, {})[self.profile.watchdog.address] = self.watchdog_value or 0
        return image
