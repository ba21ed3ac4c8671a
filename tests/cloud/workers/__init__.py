"""Tests of cloud/workers."""
