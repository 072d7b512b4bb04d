"""The shipper against the mock workspace: nothing lost, waits as told, bad data isolated."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from agent.retry import Answer
from agent.shipper import Shipper
from agent.sinks import array_bytes
from agent.sinks.data_collector import DataCollectorSink
from agent.spool import Spool
from sim.workspace.server import CollectorServer

from .conftest import stored_messages, write_secret


def _records(count, start=0):
    return [
        orjson.dumps({"Event": "ONLINE", "Computer": "h1", "Message": f"n={i}"})
        for i in range(start, start + count)
    ]


class FakeSink:
    """Accepts everything and records the size of each request."""

    api = "data-collector"
    max_request_bytes = 30_000_000
    field_limit = 32_768

    def __init__(self):
        self.batches = []

    def post(self, records):
        self.batches.append(list(records))
        return Answer(status=200, headers={})

    def reload(self):
        pass

    def close(self):
        pass


class RecordingSleep:
    def __init__(self):
        self.waits = []
        self._lock = threading.Lock()

    def __call__(self, seconds):
        with self._lock:
            self.waits.append(seconds)
        return False


def _ship(settings, sink=None, sleep=None):
    with Spool(settings.spool, fsync=settings.fsync) as spool:
        sink = sink or DataCollectorSink(settings)
        try:
            result = Shipper(spool, sink, settings, sleep=sleep).run()
        finally:
            sink.close()
        return result, spool.stats(), spool.quarantined(limit=1000)


def _spool(settings, bodies):
    with Spool(settings.spool, fsync=settings.fsync) as spool:
        spool.append(bodies)


def test_everything_spooled_arrives_once(make_settings, server, workspace):
    settings = make_settings(endpoint=server.url, batch_records=300)
    _spool(settings, _records(2000))
    result, stats, _ = _ship(settings)
    messages = stored_messages(workspace)
    assert sorted(messages) == sorted(f"n={i}" for i in range(2000))
    assert result.delivered == 2000
    assert result.requests == 7
    assert stats.depth == 0


def test_thirty_percent_503_loses_nothing_and_waits_as_told(
    make_settings, make_workspace
):
    workspace = make_workspace("503:0.3,retry-after=2.5", seed=11)
    sleep = RecordingSleep()
    with CollectorServer(workspace) as server:
        settings = make_settings(endpoint=server.url, batch_records=50)
        _spool(settings, _records(3000))
        result, stats, _ = _ship(settings, sleep=sleep)
        server.check()
    faulted = workspace.requests("Status = 503")
    assert len(faulted) >= 10
    assert sleep.waits == [2.5] * len(faulted)
    assert result.retries == len(faulted)
    assert sorted(stored_messages(workspace)) == sorted(f"n={i}" for i in range(3000))
    assert stats.depth == 0
    assert stats.quarantined == 0


def test_503_without_retry_after_backs_off_with_jitter_under_the_cap(
    make_settings, make_workspace
):
    workspace = make_workspace("503:0.5,no-retry-after", seed=3)
    sleep = RecordingSleep()
    with CollectorServer(workspace) as server:
        settings = make_settings(
            endpoint=server.url, batch_records=20, backoff_base=1.0, backoff_cap=4.0
        )
        _spool(settings, _records(400))
        _ship(settings, sleep=sleep)
    assert sleep.waits
    assert all(0 <= wait <= 4.0 for wait in sleep.waits)
    assert len(set(sleep.waits)) == len(sleep.waits)
    assert len(stored_messages(workspace)) == 400


def test_dropped_connections_are_retried_without_loss(make_settings, make_workspace):
    workspace = make_workspace("drop:0.3", seed=5)
    with CollectorServer(workspace) as server:
        settings = make_settings(endpoint=server.url, batch_records=100)
        _spool(settings, _records(1000))
        result, _, _ = _ship(settings)
    assert result.retries > 0
    assert sorted(stored_messages(workspace)) == sorted(f"n={i}" for i in range(1000))


def test_403_quarantines_one_batch_with_advice_and_holds_the_rest(
    make_settings, server, tmp_path, workspace
):
    wrong = write_secret(tmp_path / "wrong.key", "AAECAwQFBgcICQoLDA0ODw==")
    settings = make_settings(
        endpoint=server.url, shared_key_file=str(wrong), batch_records=100
    )
    _spool(settings, _records(1000))
    result, stats, quarantined = _ship(settings)
    assert result.held is not None
    assert len(quarantined) == 100
    entry = quarantined[0]
    assert entry.status == 403
    assert entry.error == "InvalidAuthorization"
    assert (
        entry.message
        == "An invalid signature was specified in the Authorization header"
    )
    for words in ("workspace id", "shared key", "clock"):
        assert words in entry.advice
    assert entry.request_id
    assert stats.depth == 900
    assert stats.state["held"].startswith("InvalidAuthorization")
    assert stored_messages(workspace) == []


def test_rotated_key_is_reread_and_shipping_recovers(
    make_settings, server, tmp_path, workspace, shared_key
):
    key_path = write_secret(tmp_path / "rotating.key", "AAECAwQFBgcICQoLDA0ODw==")

    class RotatedByAdmin(DataCollectorSink):
        def reload(self):
            write_secret(key_path, shared_key)
            super().reload()

    settings = make_settings(endpoint=server.url, shared_key_file=str(key_path))
    _spool(settings, _records(10))
    result, _, _ = _ship(settings, sink=RotatedByAdmin(settings))
    assert result.held is None
    assert result.errors == {"InvalidAuthorization": 1}
    assert len(stored_messages(workspace)) == 10


def test_bad_records_are_bisected_out_and_the_rest_delivered(
    make_settings, server, workspace
):
    settings = make_settings(endpoint=server.url, batch_records=64)
    bad = {7, 30, 31, 50}
    bodies = [
        orjson.dumps({"Message": f"n={i}", "RawData": "reserved"})
        if i in bad
        else orjson.dumps({"Message": f"n={i}"})
        for i in range(64)
    ]
    _spool(settings, bodies)
    result, stats, quarantined = _ship(settings)
    assert sorted(entry.body for entry in quarantined) == sorted(bodies[i] for i in bad)
    assert {entry.error for entry in quarantined} == {"InvalidDataFormat"}
    assert len(stored_messages(workspace)) == 60
    assert result.requests < 64  # bisection, not one request per record
    assert stats.depth == 0


def test_batches_never_exceed_the_byte_limit(make_settings):
    settings = make_settings(batch_bytes=10_000, batch_records=10_000)
    sink = FakeSink()
    _spool(settings, _records(3000))
    result, _, _ = _ship(settings, sink=sink)
    sizes = [array_bytes([len(r) for r in batch]) for batch in sink.batches]
    assert result.delivered == 3000
    assert max(sizes) <= 10_000
    assert min(sizes[:-1]) > 9_000  # batches are filled, not trickled


def test_a_record_too_big_for_any_request_is_quarantined_unsent(make_settings):
    settings = make_settings(batch_bytes=1000)
    huge = orjson.dumps({"Message": "x" * 2000})
    _spool(settings, [huge, *_records(3)])
    sink = FakeSink()
    _, stats, quarantined = _ship(settings, sink=sink)
    assert [entry.error for entry in quarantined] == ["TooLarge"]
    assert quarantined[0].body == huge
    assert sum(len(batch) for batch in sink.batches) == 3
    assert stats.depth == 0


@pytest.mark.parametrize("linger", [0.0, 0.3])
def test_linger_waits_for_a_partial_batch_to_fill_while_spooling(make_settings, linger):
    settings = make_settings(batch_records=100, linger=linger)
    sink = FakeSink()
    _spool(settings, _records(30))
    producing = threading.Event()
    producing.set()

    def produce_the_rest():
        spool.append(_records(30, start=30))
        producing.clear()

    with Spool(settings.spool) as spool:
        late = threading.Timer(0.1, produce_the_rest)
        late.start()
        Shipper(spool, sink, settings, intake_open=producing).run()
        late.join()
        remaining = spool.stats().depth
    sizes = [len(batch) for batch in sink.batches]
    assert remaining == 0
    assert sizes == ([60] if linger else [30, 30])


def test_a_drain_sends_a_partial_batch_without_lingering(make_settings):
    settings = make_settings(batch_records=100, linger=5.0)
    sink = FakeSink()
    _spool(settings, _records(30))
    started = time.monotonic()
    with Spool(settings.spool) as spool:
        Shipper(spool, sink, settings).run()
    assert time.monotonic() - started < 2.0
    assert [len(batch) for batch in sink.batches] == [30]


def test_stopping_during_a_long_retry_after_keeps_every_record_spooled(
    make_settings, make_workspace
):
    workspace = make_workspace("503:1,retry-after=30")
    stop = threading.Event()
    with CollectorServer(workspace) as server:
        settings = make_settings(endpoint=server.url, batch_records=10)
        _spool(settings, _records(50))
        with Spool(settings.spool) as spool:
            sink = DataCollectorSink(settings)
            shipper = Shipper(spool, sink, settings, stop=stop)
            worker = threading.Thread(target=shipper.run)
            worker.start()
            time.sleep(0.3)
            stop.set()
            worker.join(timeout=5)
            sink.close()
            stats = spool.stats()
    assert not worker.is_alive()
    assert shipper.result.retries >= 1
    assert (stats.depth, stats.quarantined) == (50, 0)


def test_retry_after_is_really_waited_out(make_settings, make_workspace):
    workspace = make_workspace("503:0.6,retry-after=0.25", seed=4)
    with CollectorServer(workspace) as server:
        settings = make_settings(endpoint=server.url, batch_records=1000)
        _spool(settings, _records(10))  # one batch: its retries run one after another
        started = time.monotonic()
        result, _, _ = _ship(settings)
        elapsed = time.monotonic() - started
        server.check()
    faulted = len(workspace.requests("Status = 503"))
    assert faulted >= 1
    assert result.retries == faulted
    assert elapsed >= 0.25 * faulted
    assert len(stored_messages(workspace)) == 10
