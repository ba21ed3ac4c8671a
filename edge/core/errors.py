"""The exception root of the pure safety core: every refusal of ``edge.core`` is a :class:`CoreError`.

It derives from :class:`edge.errors.EdgeError` (a module with no I/O and no imports), so a caller of the edge
catches one thing and reads ``code`` for the rule that refused.
"""

from __future__ import annotations

from edge.errors import EdgeError


class CoreError(EdgeError):
    """A state machine or rule of the core refused an input; ``code`` says which rule."""

    default_code = "core_error"
