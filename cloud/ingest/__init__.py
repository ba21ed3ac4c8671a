"""Ingestion: the one idempotent path, keyed by (gateway, epoch, seq), behind the HTTP batch endpoint and the
MQTT shared-subscription consumer; per-stream watermarks and gap reports."""
