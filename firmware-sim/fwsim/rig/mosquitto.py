"""A private Mosquitto broker on a free loopback port, with a temp config, that tests can kill and restart
(the cloud and uplink benchmarks use it too)."""

from __future__ import annotations

import signal
from pathlib import Path

from fwsim.rig.processes import ManagedProcess, ServiceError, free_port, is_listening, wait_until

START_TIMEOUT_S = 10.0


class MosquittoBroker:
    """One broker process. ``stop()``/``kill()`` then ``start()`` brings it back on the SAME port."""

    def __init__(self, binary: str, workdir: Path, host: str = "127.0.0.1", port: int | None = None,
                 config_text: str | None = None) -> None:
        """``config_text``: the whole config instead of the default one; it must open a listener on
        ``host``:``port`` (give ``port``), which is where start() waits for the broker."""
        if config_text is not None and port is None:
            raise ValueError("a custom config needs the port its listener opens")
        self.binary = binary
        self.workdir = workdir
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.config_path = workdir / "mosquitto.conf"
        self._config_text = config_text
        self._process = ManagedProcess("mosquitto", workdir / "mosquitto.log")
        self._write_config()

    def _write_config(self) -> None:
        if self._config_text is not None:
            self.config_path.write_text(self._config_text)
            return
        # Anonymous access only on this private loopback listener of a throwaway test broker.
        # Logging goes to stderr (captured into the log file by us) because, started as root,
        # mosquitto drops to its own user and could not write into our temp dir.
        self.config_path.write_text(
            "\n".join(
                [
                    f"listener {self.port} {self.host}",
                    "allow_anonymous true",
                    "persistence false",
                    "log_dest stderr",
                    "log_type all",
                    "connection_messages true",
                    "",
                ]
            )
        )

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.running

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def pids(self) -> set[int]:
        return {self.pid} if self.pid is not None else set()

    def start(self) -> None:
        """Start the broker and return once THIS process listens on the port (not some other holder of it)."""
        self._process.start([self.binary, "-c", str(self.config_path)], cwd=self.workdir)
        try:
            wait_until(
                lambda: self.pid is not None and is_listening(self.host, self.port, self.pid),
                START_TIMEOUT_S,
                f"mosquitto on {self.host}:{self.port}",
                on_poll=self._process.check_alive,
            )
        except TimeoutError as exc:
            self._process.stop()
            raise ServiceError(f"{exc}\n{self.log_tail()}") from exc

    def stop(self) -> None:
        """Orderly shutdown (SIGTERM): clients see the connection close."""
        self._process.stop(signum=signal.SIGTERM)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no will messages are sent by a dead broker, sessions vanish."""
        self._process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        return self._process.log_tail(lines)

    def __repr__(self) -> str:
        return f"MosquittoBroker({self.host}:{self.port}, running={self.running})"
