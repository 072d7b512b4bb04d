"""The spool: durable before acknowledged, gone only once accepted, crash-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from agent.spool import Spool


def test_records_survive_reopening(tmp_path):
    path = str(tmp_path / "spool.db")
    with Spool(path) as spool:
        assert spool.append([b'{"n":1}', b'{"n":2}']) == 2
    with Spool(path) as spool:
        assert [body for _, body in spool.take(0, 10)] == [b'{"n":1}', b'{"n":2}']
        assert spool.stats().counters["spooled"] == 2


def test_ack_removes_only_the_accepted_records(tmp_path):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.append([b"1", b"2", b"3"])
        ids = [record_id for record_id, _ in spool.take(0, 10)]
        spool.ack(ids[:2])
        assert [body for _, body in spool.take(0, 10)] == [b"3"]
        assert spool.stats().counters["delivered"] == 2


def test_take_continues_after_the_cursor(tmp_path):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.append([b"1", b"2", b"3"])
        first = spool.take(0, 2)
        assert [body for _, body in spool.take(first[-1][0], 10)] == [b"3"]


def test_quarantine_keeps_records_with_azure_answer_and_requeue_returns_them(
    tmp_path,
):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.append([b"good", b"bad"])
        bad_id = spool.take(0, 10)[1][0]
        spool.quarantine(
            [bad_id],
            status=400,
            error="InvalidDataFormat",
            message="Reserved property name",
            advice="fix it",
            request_id="req-1",
        )
        (entry,) = spool.quarantined()
        assert (entry.body, entry.status, entry.error, entry.request_id) == (
            b"bad",
            400,
            "InvalidDataFormat",
            "req-1",
        )
        assert spool.stats().depth == 1
        assert spool.requeue() == 1
        assert sorted(body for _, body in spool.take(0, 10)) == [b"bad", b"good"]
        assert spool.stats().quarantined == 0


def test_invalid_input_is_kept_in_quarantine_and_not_requeued(tmp_path):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.reject([b"{not json"], error="InvalidRecord", message="line 1")
        assert spool.requeue() == 0
        (entry,) = spool.quarantined()
        assert entry.body == b"{not json"
        assert entry.error == "InvalidRecord"


def test_quarantine_ids_never_collide_with_rejected_input(tmp_path):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.reject([b"x"], error="InvalidRecord", message="line 1")
        spool.append([b"a", b"b"])
        ids = [record_id for record_id, _ in spool.take(0, 10)]
        for record_id in ids:
            spool.quarantine(
                [record_id], status=400, error="E", message="", advice="", request_id=""
            )
        assert spool.stats().quarantined == 3


_WRITER = textwrap.dedent(
    """
    import sys
    from agent.spool import Spool
    spool = Spool(sys.argv[1], fsync=True)
    n = 0
    while True:
        spool.append([b'{"n":%d}' % (n + i) for i in range(50)])
        n += 50
        print(n, flush=True)
    """
)


def test_kill_9_while_appending_loses_no_acknowledged_record(tmp_path):
    path = str(tmp_path / "spool.db")
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE, text=True
    )
    acknowledged = 0
    deadline = time.monotonic() + 30
    while acknowledged < 2000 and time.monotonic() < deadline:
        acknowledged = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    with Spool(path) as spool:
        stored = spool.take(0, 10**7)
    assert acknowledged >= 2000
    assert len(stored) >= acknowledged
    assert len(stored) % 50 == 0  # whole transactions only
    numbers = [int(body[5:-1]) for _, body in stored]
    assert numbers == list(range(len(stored)))


def test_ids_are_never_reused_after_the_spool_empties(tmp_path):
    with Spool(str(tmp_path / "spool.db")) as spool:
        spool.append([b"1", b"2"])
        first = spool.take(0, 10)
        spool.ack([record_id for record_id, _ in first])
        spool.append([b"3"])
        assert [body for _, body in spool.take(first[-1][0], 10)] == [b"3"]


def test_a_new_spool_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "spool.db"
    with Spool(str(path)) as spool:
        spool.append([b'{"User":"CONTOSO\\\\ann"}'])
    assert path.stat().st_mode & 0o077 == 0


def test_compact_gives_free_space_back_only_over_the_threshold(tmp_path):
    path = tmp_path / "spool.db"
    with Spool(str(path)) as spool:
        spool.append([b"x" * 1000] * 3000)
        spool.ack([record_id for record_id, _ in spool.take(0, 10_000)])
        assert spool.compact(over_bytes=10**9) == 0
        full = path.stat().st_size
        freed = spool.compact(over_bytes=1_000_000)
        assert freed > 2_000_000
        assert path.stat().st_size < full - 2_000_000
        spool.append([b"still works"])
        assert [body for _, body in spool.take(0, 10)] == [b"still works"]
