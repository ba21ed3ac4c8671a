"""Fixtures of this directory: keyed settings, the keys and the permit-workflow site (tests.cloud.permits.site)."""

from tests.cloud.permits.site import keyring, settings, site  # noqa: F401
