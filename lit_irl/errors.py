"""One error type for every bad user input, so the CLI can print it as one line."""

from __future__ import annotations

from collections.abc import Iterable


class LitIRLError(ValueError):
    """A user-facing input (file, config value, env id, checkpoint) is wrong.

    The message names the problem and the fix; the CLI prints it as one line and exits with 2.
    """


def check_positive(**values: int | float | Iterable[int]) -> None:
    """Raise :class:`LitIRLError` for any value (or any member of a size tuple) that is not > 0."""
    for name, value in values.items():
        members = list(value) if isinstance(value, (list, tuple)) else [value]
        for member in members:
            if member is None or member <= 0:
                raise LitIRLError(f"{name} must be > 0, got {value!r}; set it to a positive value")


def check_fraction(**values: float) -> None:
    """Raise :class:`LitIRLError` for any value outside [0, 1]."""
    for name, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise LitIRLError(f"{name} must lie in [0, 1], got {value!r}")
