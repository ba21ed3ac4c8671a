"""Before the daemon runs: every file it will open, opened the way it will open it (``check-config``).

Parsing edge.toml proves the configuration is well-formed; it does not prove the gateway key is there and
readable, that the state directory can be made, or that the uplink's TLS files and token load. Each of those
would stop ``run`` at start; :func:`check_files` finds them first and names the key of edge.toml each comes
from. A serial port that is absent now is only a warning: an adapter may be plugged in later, and the daemon
treats a detector it cannot reach as a fault (an alarm in a session), not as a reason not to start.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from edge.config import EdgeConfig
from edge.uplink.config import TlsConfig


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a file: ``key`` is the edge.toml key naming it; an error stops ``run``, a warning not."""

    key: str
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def _readable(path: Path, key: str) -> Finding | None:
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        return Finding(key, f"{path}: cannot read: {exc.strerror or exc}")
    return None


def _state_dir(path: Path) -> Finding | None:
    """The daemon makes the directory if needed (mode 0700) and writes its stores there."""
    if path.exists():
        if not path.is_dir():
            return Finding("gateway.state_dir", f"{path}: exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            return Finding("gateway.state_dir", f"{path}: not writable by this user")
        return None
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        # Under systemd, StateDirectory= makes it when the service starts: a warning, not an error.
        return Finding("gateway.state_dir", f"{path}: does not exist and this user cannot make it in {parent} "
                                            "(fine if systemd's StateDirectory= makes it)", error=False)
    return None


def _tls(tls: TlsConfig | None, key: str) -> list[Finding]:
    if tls is None:
        return []
    out = [f for name in ("ca_file", "cert_file", "key_file") if (p := getattr(tls, name)) is not None
           and (f := _readable(p, f"{key}.{name}")) is not None]
    if out:
        return out
    try:  # as the uplink will: the CA file parses, the certificate and key match
        context = ssl.create_default_context(cafile=None if tls.ca_file is None else str(tls.ca_file))
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    except (ssl.SSLError, OSError, ValueError) as exc:
        return [Finding(key, f"TLS files do not load: {exc}")]
    return []


def check_files(config: EdgeConfig) -> list[Finding]:
    """Every file the daemon will open at start, checked now (paths already resolved by ``load_edge_config``)."""
    from edge.daemon.keyfile import KeyFileError, load_gateway_key

    out: list[Finding] = []
    try:
        load_gateway_key(config.gateway.key_file)
    except KeyFileError as exc:
        out.append(Finding("gateway.key_file", str(exc)))
    if (found := _state_dir(config.gateway.state_dir)) is not None:
        out.append(found)
    for i, bus in enumerate(config.buses):
        if bus.serial is not None and not Path(bus.serial).exists():
            out.append(Finding(f"buses[{i}].serial", f"{bus.serial}: no such port now (the detectors on it will "
                                                      "be in comm-fault until it appears)", error=False))
    uplink = config.uplink
    if uplink is not None and uplink.mqtt is not None:
        out += _tls(uplink.mqtt.tls, "uplink.mqtt.tls")
    if uplink is not None and uplink.http is not None:
        out += _tls(uplink.http.tls, "uplink.http.tls")
        token = uplink.http.token_file
        if token is not None and (found := _readable(token, "uplink.http.token_file")) is not None:
            out.append(found)
    return out
