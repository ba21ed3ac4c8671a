"""The tamper-evident local log: gas summaries, lock audit entries, permit decisions and alarms in one hash chain.

``chain`` is the pure chain logic and verifier, ``signing`` the gateway's signature over a head, ``store`` the
SQLite file behind them.
"""

from edge.ledger.chain import (
    GENESIS,
    ChainVerifier,
    Entry,
    Fault,
    Head,
    LedgerError,
    Verification,
    chain_next,
    parse_export,
    verify_chain,
)
from edge.ledger.signing import sign_head, verify_signed_head
from edge.ledger.store import Ledger

__all__ = ["GENESIS", "ChainVerifier", "Entry", "Fault", "Head", "Ledger", "LedgerError", "Verification",
           "chain_next", "parse_export", "sign_head", "verify_chain", "verify_signed_head"]
