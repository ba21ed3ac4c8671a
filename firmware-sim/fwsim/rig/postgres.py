"""A private PostgreSQL cluster in a temp dir on a free port, with one fresh database per test on demand.

When the suite runs as root, initdb/pg_ctl/postgres run as the ``postgres`` OS user (PostgreSQL
refuses to run as root) and the cluster directory is handed to that user. The superuser gets a
random password for this session only: no fixed credentials exist anywhere.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from fwsim.rig.processes import ServiceError, free_port, read_log_tail

SUPERUSER = "safegrid_test"
CLUSTER_OS_USER = "postgres"
START_TIMEOUT_S = 60
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresCluster:
    """initdb + pg_ctl start on 127.0.0.1:<free port>, unix socket in the temp dir; stop() is pg_ctl stop -m fast."""

    host = "127.0.0.1"

    def __init__(self, bindir: str, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # fsync and full-page writes on (benchmarks); off for tests
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(24)
        self.port = free_port(self.host)
        self.run_as = CLUSTER_OS_USER if os.geteuid() == 0 else None
        # Not pytest's tmp_path: that lives under a 0700 root-owned directory the postgres user cannot enter.
        self.workdir = Path(tempfile.mkdtemp(prefix="safegrid-pg-"))
        self.datadir = self.workdir / "data"
        self.socket_dir = self.workdir / "s"
        self.log_path = self.workdir / "postgres.log"
        self._names = itertools.count(1)
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.run_as is not None:
            account = pwd.getpwnam(self.run_as)
            for path in (self.workdir, self.socket_dir, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        try:
            self._run(
                [
                    "initdb", "-D", str(self.datadir), "-U", self.user, "--pwfile", str(pwfile),
                    "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                    "-E", "UTF8", "--no-locale", "--no-sync",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        # Durability settings off: this cluster is thrown away, and the tests are about our code, not fsync.
        server_options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                f"-c listen_addresses={self.host}",
                *(() if self.durable else ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")),
                "-c max_connections=200",
            ]
        )
        self._run(
            ["pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(self.datadir),
             "-l", str(self.log_path), "-o", server_options],
            "pg_ctl start",
        )
        self._started = True

    def stop(self) -> None:
        """pg_ctl stop -m fast, then remove the cluster directory."""
        if self._started:
            self._started = False
            self._run(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.datadir)], "pg_ctl stop")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _run(self, argv: Sequence[str], what: str) -> None:
        command = [os.path.join(self.bindir, argv[0]), *argv[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # Output to a file, not a pipe: the postmaster inherits pg_ctl's descriptors and would hold a pipe open.
        with open(self.workdir / f"{argv[0]}.out", "ab") as out:
            result = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir, check=False
            )
        if result.returncode != 0:
            raise ServiceError(f"{what} failed with {result.returncode}:\n{self.log_tail()}")

    # -- what tests use ----------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        """libpq conninfo of the maintenance database ``postgres``."""
        return self.conninfo("postgres")

    def conninfo(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={dbname}"

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL for ``dbname`` using the psycopg 3 driver."""
        return f"postgresql+psycopg://{self.user}:{quote(self.password, safe='')}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh empty database and return its SQLAlchemy URL."""
        name = name or f"t{next(self._names)}_{secrets.token_hex(4)}"
        if not _DB_NAME.match(name):
            raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
        self._execute("CREATE DATABASE {}", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` even if a test left connections open (PostgreSQL 13+ FORCE)."""
        if not _DB_NAME.match(name):
            raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def _execute(self, template: str, dbname: str) -> None:
        import psycopg  # the cloud extra; imported late so edge-only installs can still load the rig
        from psycopg import sql

        statement = sql.SQL(template).format(sql.Identifier(dbname))
        # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(statement)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def pids(self) -> set[int]:
        pid = self.postmaster_pid()
        return {pid} if pid is not None else set()

    def log_tail(self, lines: int = 60) -> str:
        parts = [read_log_tail(self.log_path, lines)]
        for out in sorted(self.workdir.glob("*.out")):
            parts.append(f"[{out.name}]\n{read_log_tail(out, lines)}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"PostgresCluster({self.host}:{self.port}, user={self.user})"
