"""Moved to :mod:`protocols.fields` (shared by tokens, revocation lists and padlock messages)."""

from protocols.fields import FieldReader, bstr_of, load_map, public_keys

__all__ = ["FieldReader", "bstr_of", "load_map", "public_keys"]
