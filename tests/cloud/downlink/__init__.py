"""Tests of cloud/downlink."""
