"""The worker phone's reference client: the library a mobile team ports, and what tests and the demo use.

- :mod:`.keys` — the worker's holder key, generated on first use, stored 0600;
- :mod:`.tokens` — the permit token: a file today, the cloud later (the ``TokenSource`` seam), a cache offline;
- :mod:`.session` — the unlock exchange (challenge → proof of possession → unlock) on the shared padlock
  client's session (``padlock_client``: requests and answers over one link, which the gateway runs too);
- :mod:`.bumble_central` (virtual radio) and :mod:`.bleak_central` (real hardware) — finding a padlock and
  connecting to it, on the shared radio backends;
- :mod:`.phone` — one visit to the hatch; :mod:`.words` — result codes in words.
"""

from fwsim.phone.errors import (
    LinkError,
    LinkLost,
    LockNotFound,
    LockTimeout,
    PhoneError,
    TokenUnavailable,
    UnexpectedAnswer,
)
from fwsim.phone.keys import load_or_create_worker_key, public_key_hex
from fwsim.phone.link import Central, FoundLock, LockLink
from fwsim.phone.phone import Phone
from fwsim.phone.session import PadlockSession, UnlockOutcome
from fwsim.phone.tokens import OnlineFirst, TokenCache, TokenFile, TokenSource
from fwsim.phone.words import RESULT_WORDS, result_in_words

__all__ = [
    "RESULT_WORDS",
    "Central",
    "FoundLock",
    "LinkError",
    "LinkLost",
    "LockLink",
    "LockNotFound",
    "LockTimeout",
    "OnlineFirst",
    "PadlockSession",
    "Phone",
    "PhoneError",
    "TokenCache",
    "TokenFile",
    "TokenSource",
    "TokenUnavailable",
    "UnexpectedAnswer",
    "UnlockOutcome",
    "load_or_create_worker_key",
    "public_key_hex",
    "result_in_words",
]
