"""These tests use the ingestion fixtures: settings with a data dir, cloud keys, gateways gw-e1 (E1) and gw-e2 (E2)
with device tokens."""

from tests.cloud.ingest.conftest import keystore, settings, tokens

__all__ = ["keystore", "settings", "tokens"]
