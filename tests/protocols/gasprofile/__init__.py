"""Tests of the gas-detector and output-module register profiles."""
