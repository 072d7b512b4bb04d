"""What every ``secrmm-sim`` command shares when it talks to a person."""

from __future__ import annotations

import sys

__all__ = ["USAGE_ERROR", "fail"]

#: Exit status for a command line or input that cannot work as given.
USAGE_ERROR = 2


def fail(message: str) -> int:
    """Say what is wrong on stderr, prefixed with the program; return exit status 2."""
    print(f"secrmm-sim: {message}", file=sys.stderr)
    return USAGE_ERROR
