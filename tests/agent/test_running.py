"""Running a shipper for the command line: failures surface, signals come back."""

from __future__ import annotations

import signal

import pytest

from agent.running import ship
from agent.shipper import Shipper
from agent.spool import Spool, SpoolError


def test_a_failing_shipper_beside_the_producer_is_reported(make_settings, monkeypatch):
    def broken(self):
        raise SpoolError("the disk went away")

    monkeypatch.setattr(Shipper, "run", broken)
    produced = []
    settings = make_settings()
    with Spool(settings.spool) as spool, pytest.raises(SpoolError, match="disk"):
        ship(settings, spool, produce=lambda: produced.append(True))
    assert produced == [True]


def test_signal_handlers_are_restored_after_shipping(make_settings):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    settings = make_settings()
    with Spool(settings.spool) as spool:
        result = ship(settings, spool)
    assert result.delivered == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
