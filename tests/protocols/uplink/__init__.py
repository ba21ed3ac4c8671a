"""Tests of the uplink envelope, signed downlink commands, MQTT topics and their schemas and vectors."""
