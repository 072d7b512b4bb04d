"""Fault injection: answer a share of requests the way a struggling Azure would.

A fault is written ``KIND[:SHARE][,OPTION...]``, for example ``503:0.3``,
``429:0.1,no-retry-after``, ``delay:1,seconds=2.5`` or ``drop:0.05``:

- ``429``, ``500``, ``503``: answer with that status before any check.
  ``429`` and ``503`` carry ``Retry-After`` (``retry-after=N`` seconds, default
  1) unless ``no-retry-after`` is given.
- ``delay``: wait ``seconds`` (default 1) and then handle the request normally.
- ``drop``: close the connection without answering; nothing is stored.
- ``lose``: answer success but store nothing ("200 is not delivery",
  ``fluent/fluent-bit#9002``).

SHARE is the probability (default 1) that a request draws the fault. Rules are
drawn in order and the first hit wins. Draws come from a seeded generator, so
the same seed and requests give the same faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Fault", "FaultPlan", "FaultSpecError", "parse_fault"]

_STATUS_KINDS = ("429", "500", "503")
KINDS = (*_STATUS_KINDS, "delay", "drop", "lose")


class FaultSpecError(ValueError):
    """A fault specification cannot be understood."""


@dataclass(frozen=True, kw_only=True)
class Fault:
    kind: str
    share: float = 1.0
    retry_after: float | None = 1.0
    seconds: float = 1.0

    @property
    def status(self) -> int | None:
        """The status this fault answers with, if it answers with one."""
        return int(self.kind) if self.kind in _STATUS_KINDS else None

    def spec(self) -> str:
        parts = [f"{self.kind}:{self.share:g}"]
        if self.kind in ("429", "503"):
            parts.append(
                "no-retry-after"
                if self.retry_after is None
                else f"retry-after={self.retry_after:g}"
            )
        if self.kind == "delay":
            parts.append(f"seconds={self.seconds:g}")
        return ",".join(parts)


def parse_fault(spec: str) -> Fault:
    """Parse ``KIND[:SHARE][,OPTION...]``; raise FaultSpecError saying what is wrong."""
    head, *options = [part.strip() for part in spec.split(",")]
    kind, _, share_text = head.partition(":")
    if kind not in KINDS:
        raise FaultSpecError(
            f"unknown fault {kind!r} in {spec!r}; use one of {', '.join(KINDS)}"
        )
    share = _number(share_text or "1", "share", spec)
    if not 0 <= share <= 1:
        raise FaultSpecError(f"share {share:g} in {spec!r} must be between 0 and 1")
    retry_after: float | None = 1.0
    seconds = 1.0
    for option in options:
        name, _, value = option.partition("=")
        if name == "no-retry-after" and not value:
            retry_after = None
        elif name == "retry-after" and value:
            retry_after = _number(value, name, spec)
        elif name == "seconds" and value:
            seconds = _number(value, name, spec)
        else:
            raise FaultSpecError(
                f"unknown option {option!r} in {spec!r}; "
                "options are retry-after=N, no-retry-after, seconds=N"
            )
    return Fault(kind=kind, share=share, retry_after=retry_after, seconds=seconds)


def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{what} {text!r} in {spec!r} is not a number") from None
    if value < 0:
        raise FaultSpecError(f"{what} {text!r} in {spec!r} must not be negative")
    return value


class FaultPlan:
    """The faults in force; thread-safe, and changeable while a server runs."""

    def __init__(self, faults: Iterable[Fault] = (), seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: tuple[Fault, ...] = tuple(faults)
        self._random = random.Random(seed)

    @property
    def faults(self) -> Sequence[Fault]:
        return self._faults

    def set(self, faults: Iterable[Fault], seed: int | None = None) -> None:
        with self._lock:
            self._faults = tuple(faults)
            if seed is not None:
                self._random.seed(seed)

    def clear(self) -> None:
        self.set(())

    def draw(self) -> Fault | None:
        """The fault the next request meets, if any."""
        with self._lock:
            for fault in self._faults:
                if self._random.random() < fault.share:
                    return fault
        return None
