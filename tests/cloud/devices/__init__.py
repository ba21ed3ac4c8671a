"""Tests of cloud/devices."""
