"""One function decides what each answer means; Retry-After is always honoured."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from agent.retry import Action, Answer, Backoff, classify, retry_after_seconds

DCA = "data-collector"
LIA = "logs-ingestion"


def _answer(status, body=None, headers=None):
    raw = json.dumps(body).encode() if body is not None else b""
    return Answer(status=status, headers=headers or {}, body=raw)


def _dca_error(code, message=None):
    return {"Error": code, "Message": message}


@pytest.mark.parametrize(
    ("api", "status", "body", "action"),
    [
        (DCA, 200, None, Action.DONE),
        (LIA, 204, None, Action.DONE),
        (LIA, 200, None, Action.RETRY),
        (DCA, 429, None, Action.RETRY),
        (DCA, 500, _dca_error("UnspecifiedError"), Action.RETRY),
        (DCA, 503, _dca_error("ServiceUnavailable"), Action.RETRY),
        (LIA, 502, None, Action.RETRY),
        (LIA, 504, None, Action.RETRY),
        (LIA, 408, None, Action.RETRY),
        (DCA, 400, _dca_error("InvalidDataFormat"), Action.SPLIT),
        (DCA, 400, _dca_error("InvalidLogType"), Action.HOLD),
        (DCA, 400, _dca_error("InvalidCustomerId"), Action.HOLD),
        (DCA, 400, _dca_error("InactiveCustomer"), Action.HOLD),
        (DCA, 400, _dca_error("UnsupportedContentType"), Action.HOLD),
        (DCA, 403, _dca_error("InvalidAuthorization"), Action.HOLD),
        (LIA, 401, {"error": {"code": "InvalidToken", "message": "x"}}, Action.HOLD),
        (LIA, 403, {"error": {"code": "Forbidden", "message": "x"}}, Action.HOLD),
        (LIA, 404, {"error": {"code": "NotFound", "message": "x"}}, Action.HOLD),
        (
            LIA,
            413,
            {"error": {"code": "PayloadTooLarge", "message": "x"}},
            Action.SPLIT,
        ),
        (LIA, 400, {"error": {"code": "InvalidPayload", "message": "x"}}, Action.SPLIT),
    ],
)
def test_each_answer_maps_to_one_action(api, status, body, action):
    assert classify(_answer(status, body), api=api, body_bytes=10).action is action


def test_transport_failure_is_retried():
    answer = Answer(status=None, headers={}, failure="timed out (ReadTimeout)")
    verdict = classify(answer, api=DCA, body_bytes=10)
    assert verdict.action is Action.RETRY
    assert verdict.message == "timed out (ReadTimeout)"


def test_dca_404_on_a_large_body_splits_but_on_a_small_one_holds():
    big = classify(_answer(404), api=DCA, body_bytes=5_000_000)
    small = classify(_answer(404), api=DCA, body_bytes=2_000)
    assert big.action is Action.SPLIT
    assert small.action is Action.HOLD
    assert "endpoint" in small.advice


def test_403_advice_names_workspace_key_and_clock():
    verdict = classify(
        _answer(403, _dca_error("InvalidAuthorization", "An invalid signature")),
        api=DCA,
        body_bytes=10,
    )
    assert verdict.error == "InvalidAuthorization"
    assert verdict.message == "An invalid signature"
    for word in ("workspace id", "shared key", "clock"):
        assert word in verdict.advice


def test_any_error_with_retry_after_is_retried_after_that_wait():
    verdict = classify(
        _answer(409, headers={"Retry-After": "7"}), api=LIA, body_bytes=10
    )
    assert verdict.action is Action.RETRY
    assert verdict.wait == 7


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": "Thu, 03 Dec 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Thu, 03 Dec 2026 11:00:00 GMT"}, 0.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"x-ms-retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-4"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_dates_and_milliseconds(headers, seconds):
    now = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(headers, now=lambda: now) == seconds


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling():
    backoff = Backoff(base=1.0, cap=8.0, rng=random.Random(7))
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.8
        assert min(delays) < ceiling * 0.2


def test_retry_after_is_honoured_even_above_the_backoff_cap():
    backoff = Backoff(base=0.1, cap=1.0)
    verdict = classify(
        _answer(503, headers={"Retry-After": "30"}), api=DCA, body_bytes=10
    )
    assert backoff.wait(0, verdict) == 30


def test_token_endpoint_error_shape_gives_code_and_description():
    body = {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}
    verdict = classify(_answer(401, body), api=LIA, body_bytes=10)
    assert verdict.action is Action.HOLD
    assert verdict.error == "invalid_client"
    assert verdict.message == "AADSTS7000215: bad secret"
