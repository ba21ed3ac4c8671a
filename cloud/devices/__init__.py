"""Devices: gateways (enrolment, certificates, device tokens), padlocks and gas detectors of confined spaces."""
