"""Provisioning for technicians: enrol gateways, padlocks and detectors (keys, certificates, config)."""
