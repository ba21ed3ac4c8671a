"""Tests of cloud/permits."""
