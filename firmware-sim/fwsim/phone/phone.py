"""The worker's phone at the hatch: get the permit token, find the padlock by its id, run the unlock exchange.

    phone = Phone(BumbleCentral(device), load_or_create_worker_key(key_path), TokenFile(token_path))
    outcome = await phone.unlock(lock_id)
    print(outcome.in_words())          # "ok: unlocked: the padlock opened", or why not
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fwsim.phone.link import Central
from fwsim.phone.session import PadlockSession, UnlockOutcome
from fwsim.phone.tokens import TokenSource
from protocols.padlock.gatt import PREFERRED_ATT_MTU

SCAN_TIMEOUT_S = 10.0


class Phone:
    def __init__(self, central: Central, worker_key: Ed25519PrivateKey, tokens: TokenSource) -> None:
        self.central = central
        self.worker_key = worker_key
        self.tokens = tokens

    async def unlock(self, lock_id: bytes, *, scan_timeout_s: float = SCAN_TIMEOUT_S,
                     mtu: int = PREFERRED_ATT_MTU) -> UnlockOutcome:
        """One visit: token, scan, connect, challenge → unlock, disconnect. PhoneError when it cannot finish."""
        token = await self.tokens.token_for(lock_id)
        found = await self.central.find(lock_id, scan_timeout_s)
        link = await self.central.connect(found, mtu=mtu)
        try:
            return await PadlockSession(link).unlock(token, self.worker_key)
        finally:
            await link.close()
