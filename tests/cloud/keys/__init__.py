"""Tests of cloud/keys."""
