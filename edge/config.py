"""The gateway daemon's configuration (edge.toml): pydantic models, and the cross-checks that name the bad key.

A field error (wrong type, unknown key, out of range) names its dotted key through ``safegrid.config``; a
reference to something that does not exist (a detector on an unknown bus, limits looser than the law without
a reason) is checked after parsing by :func:`check_references`, which names the key the same way. There are no
default keys or credentials: the gateway key and the trusted cloud keys are named by the operator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, field_validator, model_validator

from edge.core.limits import Band, Gas, GasLimit, LimitError, LimitOverride, space_limits
from edge.uplink.config import TlsConfig, UplinkConfig
from protocols.errors import ProfileError
from protocols.gasprofile import DetectorProfile, OutputModuleProfile, load_profile
from protocols.padlock.gatt import GATEWAY_POLL_INTERVAL_S
from protocols.uplink.fields import GATEWAY_ID_PATTERN, ID_PATTERN
from safegrid.config import ConfigError, StrictModel, load_config

GatewayId = Annotated[str, Field(pattern=GATEWAY_ID_PATTERN)]
Name = Annotated[str, Field(pattern=ID_PATTERN)]
SpaceId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="16-byte space id as lowercase hex")]
LockId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$", description="8-byte lock id as lowercase hex")]
PublicKeyHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="raw Ed25519 public key as hex")]
Seconds = Annotated[float, Field(gt=0, le=7 * 86400, allow_inf_nan=False)]
UnitId = Annotated[int, Field(strict=True, ge=1, le=247)]


class GatewaySection(StrictModel):
    id: GatewayId
    epoch: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] = 1
    state_dir: Path  # outbox, ledger, counters and the session state live here
    key_file: Path  # the gateway's Ed25519 key (PEM PKCS#8 or 32 raw bytes): signs attestations and log heads


class BusConfig(StrictModel):
    """One Modbus line: a serial port (RS-485) or a Modbus TCP endpoint, shared by its devices."""

    name: Name
    serial: str | None = None  # e.g. /dev/ttyUSB0
    tcp: str | None = None  # host:port
    baudrate: Annotated[int, Field(strict=True, ge=1200, le=921600)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_s: Seconds = 0.5

    @model_validator(mode="after")
    def _one_link(self) -> BusConfig:
        if (self.serial is None) == (self.tcp is None):
            raise ValueError("give exactly one of serial (a port) or tcp (host:port)")
        if self.tcp is not None:
            host, _, port = self.tcp.rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"tcp must be host:port, not {self.tcp!r}")
        return self


def _profile_of(name: str, kind: type[DetectorProfile] | type[OutputModuleProfile]) -> str:
    try:
        profile = load_profile(name)
    except ProfileError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(profile, kind):
        raise ValueError(f"profile {name!r} is not a {'gas detector' if kind is DetectorProfile else 'output module'}")
    return name


class DetectorConfig(StrictModel):
    id: Name
    bus: Name
    unit: UnitId
    space: SpaceId
    profile: str = "generic-4gas"
    poll_interval_s: Seconds = 1.0
    retries: Annotated[int, Field(strict=True, ge=0, le=5)] = 1
    fail_after: Annotated[int, Field(strict=True, ge=1, le=100)] = 3  # failed polls before comm-fault
    settings_every_s: Seconds = 3600.0  # set-points, maintenance dates and identity are re-read this often
    heartbeat_timeout_s: Annotated[float, Field(ge=0, le=3600)] = 15.0  # a frozen heartbeat is a fault (0: off)

    @field_validator("profile")
    @classmethod
    def _detector_profile(cls, value: str) -> str:
        return _profile_of(value, DetectorProfile)


class OutputModuleConfig(StrictModel):
    id: Name
    bus: Name
    unit: UnitId
    profile: str = "output-module"
    refresh_s: Seconds = 5.0  # outputs are re-asserted this often, so a module that restarted is put right
    watchdog_s: Annotated[float, Field(ge=0, le=3600)] = 2.0  # how often the watchdog register is written (0: off)
    input_poll_s: Seconds = 0.5  # how often the local acknowledge input is read
    # The gateway-fault siren pattern (gateway_fault, state_lost alone): on this long at the start of every period.
    # 1 s in 10 s: a blast loud enough to fetch someone, unmistakably not the continuous evacuation tone.
    fault_pulse_on_s: Seconds = 1.0
    fault_pulse_period_s: Seconds = 10.0

    @model_validator(mode="after")
    def _pulse_fits(self) -> OutputModuleConfig:
        if self.fault_pulse_on_s >= self.fault_pulse_period_s:
            raise ValueError("fault_pulse_on_s must be shorter than fault_pulse_period_s (else it is continuous)")
        return self

    @field_validator("profile")
    @classmethod
    def _module_profile(cls, value: str) -> str:
        return _profile_of(value, OutputModuleProfile)


class BandConfig(StrictModel):
    low: float | None = None
    high: float | None = None

    def band(self) -> Band:
        return Band(self.low, self.high)


class LimitConfig(StrictModel):
    """A space's own limits for one gas, in the gas's limit unit; never looser than the law without a reason."""

    level1: BandConfig | None = None
    level2: BandConfig | None = None
    stel: Annotated[float, Field(gt=0)] | None = None
    twa: Annotated[float, Field(gt=0)] | None = None
    deadband: Annotated[float, Field(ge=0)] | None = None
    allow_looser: bool = False
    reason: str = ""

    def override(self) -> LimitOverride:
        return LimitOverride(level1=self.level1.band() if self.level1 else None,
                             level2=self.level2.band() if self.level2 else None, stel=self.stel, twa=self.twa,
                             deadband=self.deadband, allow_looser=self.allow_looser, reason=self.reason)


class SpaceConfig(StrictModel):
    id: SpaceId
    name: str = ""
    gases: Annotated[list[Gas], Field(min_length=1)] = Field(default_factory=lambda: list(Gas))
    limits: dict[Gas, LimitConfig] = Field(default_factory=dict)
    temperature_c: Annotated[float, Field(ge=-60, le=100)] = 20.0  # for ppm → mg/m³ when detectors give none
    pressure_kpa: Annotated[float, Field(ge=50, le=150)] = 101.325
    lel_pct_vol: Annotated[float, Field(gt=0, le=100)] | None = None  # LEL of the space's flammable gas, %VOL
    output_module: Name | None = None
    fan_channel: Annotated[int, Field(strict=True, ge=1, le=64)] | None = None
    stale_after_polls: Annotated[int, Field(strict=True, ge=1, le=100)] = 3
    attestation_in_range_s: Annotated[float, Field(ge=0, le=86400)] = 300.0
    attestation_validity_s: Annotated[int, Field(strict=True, ge=1, le=1800)] = 1800
    overtime_warning_s: Annotated[int, Field(strict=True, ge=0, le=86400)] = 600
    unauthorized_deadline_s: Annotated[int, Field(strict=True, ge=1, le=86400)] = 1800

    def gas_limits(self) -> dict[Gas, GasLimit]:
        return space_limits(self.gases, {gas: limit.override() for gas, limit in self.limits.items()})


class PadlockConfig(StrictModel):
    id: LockId
    space: SpaceId
    public_key: PublicKeyHex  # the lock's own key: its audit entries are verified against it
    address: str | None = None  # BLE address, for the radio link
    # The radio link (edge.daemon.ble): none → audit entries only as relayed, pushes held for the next carrier.
    backend: Literal["bumble", "bleak"] | None = None
    hci: str | None = None  # bumble: the HCI transport, e.g. "tcp-client:127.0.0.1:9101" or "usb:0"
    adapter: str | None = None  # bleak: the BlueZ adapter, e.g. "hci0" (default: the system's)
    poll_interval_s: Seconds = float(GATEWAY_POLL_INTERVAL_S)  # a visit this often even when no event is announced

    @model_validator(mode="after")
    def _radio(self) -> PadlockConfig:
        if self.backend == "bumble" and not self.hci:
            raise ValueError("backend 'bumble' needs hci (the HCI transport spec)")
        if self.hci is not None and self.backend != "bumble":
            raise ValueError("hci is for backend 'bumble'")
        if self.adapter is not None and self.backend != "bleak":
            raise ValueError("adapter is for backend 'bleak'")
        return self


class CloudConfig(StrictModel):
    """Trusted cloud command keys: key id (hex) → raw Ed25519 public key (hex). Commands signed otherwise are
    refused."""

    command_keys: Annotated[dict[Annotated[str, Field(pattern=r"^[0-9a-f]{2,32}$")], PublicKeyHex],
                            Field(min_length=1)]


class CoreConfig(StrictModel):
    tick_s: Seconds = 0.5  # timers, staleness and mutes are checked this often
    ledger_summary_s: Seconds = 60.0  # a gas summary per space goes into the tamper-evident log this often


class OutboxConfig(StrictModel):
    cap: Annotated[int, Field(strict=True, ge=100)] = 1_000_000
    span: Annotated[int, Field(strict=True, ge=2, le=10_000)] = 60


class OpsConfig(StrictModel):
    health_host: str = "127.0.0.1"
    health_port: Annotated[int, Field(strict=True, ge=0, le=65535)] | None = None  # None: no endpoint
    console: bool = True  # the attendant console socket, console.sock in the state directory


class EdgeConfig(StrictModel):
    gateway: GatewaySection
    buses: list[BusConfig] = Field(default_factory=list)
    detectors: list[DetectorConfig] = Field(default_factory=list)
    output_modules: list[OutputModuleConfig] = Field(default_factory=list)
    spaces: Annotated[list[SpaceConfig], Field(min_length=1)]
    padlocks: list[PadlockConfig] = Field(default_factory=list)
    cloud: CloudConfig | None = None  # None: no downlink command is accepted
    uplink: UplinkConfig | None = None  # None: records wait in the outbox
    core: CoreConfig = CoreConfig()
    outbox: OutboxConfig = OutboxConfig()
    ops: OpsConfig = OpsConfig()

    def space(self, space_id: str) -> SpaceConfig:
        return next(s for s in self.spaces if s.id == space_id)


def _unique(items: Sequence[StrictModel], attr: str, section: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise _Ref(f"{section}[{i}].{attr}", f"duplicate {attr} {value!r} (also {section}[{seen[value]}])")
        seen[value] = i
    return seen


class _Ref(Exception):
    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message


def _check(config: EdgeConfig) -> None:
    buses = _unique(config.buses, "name", "buses")
    spaces = _unique(config.spaces, "id", "spaces")
    modules = _unique(config.output_modules, "id", "output_modules")
    _unique(config.detectors, "id", "detectors")
    _unique(config.padlocks, "id", "padlocks")
    units: dict[tuple[str, int], str] = {}
    devices = [("detectors", i, d.bus, d.unit, d.id) for i, d in enumerate(config.detectors)]
    devices += [("output_modules", i, m.bus, m.unit, m.id) for i, m in enumerate(config.output_modules)]
    for section, i, bus, unit, device in devices:
        if bus not in buses:
            raise _Ref(f"{section}[{i}].bus", f"no bus named {bus!r} (buses: {sorted(buses)})")
        if (bus, unit) in units:
            raise _Ref(f"{section}[{i}].unit", f"unit {unit} on bus {bus!r} is already {units[(bus, unit)]!r}")
        units[(bus, unit)] = device
    for i, detector in enumerate(config.detectors):
        if detector.space not in spaces:
            raise _Ref(f"detectors[{i}].space", f"no space {detector.space!r}")
    for i, lock in enumerate(config.padlocks):
        if lock.space not in spaces:
            raise _Ref(f"padlocks[{i}].space", f"no space {lock.space!r}")
    for i, space in enumerate(config.spaces):
        if space.output_module is not None and space.output_module not in modules:
            raise _Ref(f"spaces[{i}].output_module", f"no output module {space.output_module!r}")
        if not any(d.space == space.id for d in config.detectors):
            raise _Ref(f"spaces[{i}].id", "no detector monitors this space: it could never be attested")
        for gas in space.limits:
            try:
                space_limits(space.gases, {gas: space.limits[gas].override()})
            except LimitError as exc:
                raise _Ref(f"spaces[{i}].limits.{gas.value}", str(exc)) from None


def check_references(config: EdgeConfig, path: str | Path = "<config>") -> EdgeConfig:
    """Check what one field cannot check alone; :class:`ConfigError` naming the key otherwise."""
    try:
        _check(config)
    except _Ref as exc:
        raise ConfigError(path, exc.key, exc.message) from None
    return config


def _at(base: Path, path: Path | None) -> Path | None:
    return path if path is None or path.is_absolute() else base / path


def _resolve_tls(tls: TlsConfig | None, base: Path) -> TlsConfig | None:
    if tls is None:
        return None
    return tls.model_copy(update={name: _at(base, getattr(tls, name)) for name in ("ca_file", "cert_file",
                                                                                  "key_file")})


def _resolve_uplink(uplink: UplinkConfig | None, base: Path) -> UplinkConfig | None:
    if uplink is None:
        return None
    update: dict[str, object] = {}
    if uplink.mqtt is not None:
        update["mqtt"] = uplink.mqtt.model_copy(update={"tls": _resolve_tls(uplink.mqtt.tls, base)})
    if uplink.http is not None:
        update["http"] = uplink.http.model_copy(update={"tls": _resolve_tls(uplink.http.tls, base),
                                                        "token_file": _at(base, uplink.http.token_file)})
    return uplink.model_copy(update=update)


def resolve(config: EdgeConfig, base: Path) -> EdgeConfig:
    """Relative paths (``[gateway]`` state and key, the uplink's TLS files and token) are taken from the config
    file's directory, so a unit's working directory never changes what a config means."""
    gw = config.gateway
    return config.model_copy(update={
        "gateway": gw.model_copy(update={"state_dir": _at(base, gw.state_dir), "key_file": _at(base, gw.key_file)}),
        "uplink": _resolve_uplink(config.uplink, base)})


def load_edge_config(path: str | Path) -> EdgeConfig:
    """Read, validate and cross-check edge.toml; :class:`ConfigError` naming the key that is wrong."""
    p = Path(path)
    return resolve(check_references(load_config(p, EdgeConfig), p), p.resolve().parent)


def trusted_keys(keys: Mapping[str, str]) -> dict[bytes, Ed25519PublicKey]:
    """Config ``{kid hex: public key hex}`` → ``{kid: Ed25519PublicKey}``."""
    return {bytes.fromhex(kid): Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)) for kid, pub in keys.items()}
