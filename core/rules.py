"""The error of a value that breaks a rule of what a person types."""

from __future__ import annotations


class RuleError(ValueError):
    """A value breaks a rule; ``str(exc)`` is a message for the person who typed it."""
