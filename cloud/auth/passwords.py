"""Password hashing with argon2id (memory-hard), and the rules a new password must meet.

Each hash takes ``argon2_memory_kib`` (64 MiB by default) and a core for a good part of a second, so a process
computes at most ``max_concurrent_hashes`` at once: a request that finds no free slot within
``hash_wait_seconds`` is answered 503 ``busy`` instead of queueing in the thread pool (where a flood of logins
would hold every thread and all the memory). The bound is per process: the host's total is that times
``api.workers``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cloud.errors import Busy
from cloud.settings import AuthSettings

log = structlog.get_logger(__name__)

MIN_LENGTH = 12
MAX_LENGTH = 256  # bounds the hashing work an attacker can ask for


class Passwords:
    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib,
                                      parallelism=settings.argon2_parallelism)
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_hashes)
        self._wait_s = settings.hash_wait_seconds

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait_s):
            log.warning("password_hash_busy")
            raise Busy("too many sign-ins at once; retry in a moment / 登录请求过多, 请稍后重试")
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant work whether or not the user exists: a missing hash is checked against a random one."""
        decoy = self._decoy if stored_hash is None else ""
        with self._slot():
            try:
                ok = self._hasher.verify(stored_hash or decoy, password)
            except (VerificationError, InvalidHashError):
                return False
        return ok and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    @cached_property
    def _decoy(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(24))  # made once, outside the slots (see verify)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or ``None``."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    if password.strip() != password:
        return "no leading or trailing whitespace"
    return None
