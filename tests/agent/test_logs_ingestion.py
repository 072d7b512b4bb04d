"""The Logs Ingestion API sink against stubs written from the spec (§3)."""

from __future__ import annotations

import gzip
import json
import logging
from urllib.parse import parse_qs

import orjson
import pytest
import requests
import responses

from agent.retry import Action, classify
from agent.shipper import Shipper
from agent.sinks.logs_ingestion import LogsIngestionSink, TokenSource
from agent.spool import Spool

from .conftest import write_secret

DCE = "https://dce.westeurope-1.ingest.monitor.azure.com"
AUTHORITY = "https://login.example"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TOKEN_URL = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"
INGEST_URL = (
    f"{DCE}/dataCollectionRules/dcr-00000000000000000000000000000000"
    "/streams/Custom-secRMM_CL"
)
CLIENT_SECRET = "client~secret.value-1234567890"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def lia_settings(make_settings, tmp_path):
    secret = write_secret(tmp_path / "client.secret", CLIENT_SECRET)

    def make(**overrides):
        values = {
            "api": "logs-ingestion",
            "endpoint": DCE,
            "dcr_id": "dcr-00000000000000000000000000000000",
            "tenant_id": TENANT,
            "client_id": "app-id",
            "client_secret_file": str(secret),
            "authority": AUTHORITY,
            **overrides,
        }
        return make_settings(**values)

    return make


@pytest.fixture
def azure():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _token_reply(mock, access="tok-1", expires_in=3600, status=200):
    body = (
        {"token_type": "Bearer", "expires_in": expires_in, "access_token": access}
        if status == 200
        else {"error": "invalid_client", "error_description": "AADSTS7000215"}
    )
    mock.add(responses.POST, TOKEN_URL, json=body, status=status)


def _records(count, size=10):
    return [
        orjson.dumps({"Event": "ONLINE", "Message": f"n={i}-" + "x" * size})
        for i in range(count)
    ]


def _sent_records(call):
    return json.loads(gzip.decompress(call.request.body))


def test_posts_gzip_json_with_a_bearer_token_and_takes_204(lia_settings, azure):
    _token_reply(azure)
    azure.add(responses.POST, INGEST_URL, status=204)
    sink = LogsIngestionSink(lia_settings())
    answer = sink.post(_records(3))
    token_call, ingest_call = azure.calls
    form = parse_qs(token_call.request.body)
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["app-id"],
        "client_secret": [CLIENT_SECRET],
        "scope": ["https://monitor.azure.com/.default"],
    }
    request = ingest_call.request
    assert request.url == INGEST_URL + "?api-version=2023-01-01"
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["x-ms-client-request-id"] == answer.request_id
    assert _sent_records(ingest_call) == [orjson.loads(r) for r in _records(3)]
    assert classify(answer, api=sink.api, body_bytes=1).action is Action.DONE


def test_token_is_cached_and_renewed_before_it_expires(lia_settings, azure):
    settings = lia_settings()
    clock = Clock()
    _token_reply(azure, "tok-1", expires_in=3600)
    _token_reply(azure, "tok-2", expires_in=3600)
    tokens = TokenSource(settings, requests.Session(), clock=clock)
    assert tokens.token().reveal() == "tok-1"
    clock.now += 3000
    assert tokens.token().reveal() == "tok-1"
    clock.now += 301  # within 300 s of expiry: renewed early
    assert tokens.token().reveal() == "tok-2"
    assert len(azure.calls) == 2


def test_short_lived_token_is_renewed_at_half_its_life(lia_settings, azure):
    clock = Clock()
    _token_reply(azure, "tok-1", expires_in=60)
    _token_reply(azure, "tok-2", expires_in=60)
    tokens = TokenSource(lia_settings(), requests.Session(), clock=clock)
    tokens.token()
    clock.now += 29
    assert tokens.token().reveal() == "tok-1"
    clock.now += 2
    assert tokens.token().reveal() == "tok-2"


def test_sovereign_cloud_asks_for_its_own_scope(lia_settings, azure):
    _token_reply(azure)
    azure.add(responses.POST, INGEST_URL, status=204)
    LogsIngestionSink(lia_settings(cloud="usgov")).post(_records(1))
    assert parse_qs(azure.calls[0].request.body)["scope"] == [
        "https://monitor.azure.us/.default"
    ]


def _ship(settings):
    with Spool(settings.spool) as spool:
        sink = LogsIngestionSink(settings)
        spool.append(_records(40, size=100))
        result = Shipper(spool, sink, settings).run()
        return result, spool.stats(), spool.quarantined(limit=1000)


def test_refused_token_is_dropped_secret_reread_and_shipping_recovers(
    lia_settings, azure
):
    _token_reply(azure, "tok-old")
    _token_reply(azure, "tok-new")
    azure.add(
        responses.POST,
        INGEST_URL,
        status=401,
        json={"error": {"code": "InvalidToken", "message": "expired"}},
    )
    azure.add(responses.POST, INGEST_URL, status=204)
    result, stats, _ = _ship(lia_settings())
    tokens = [
        call.request.headers.get("Authorization")
        for call in azure.calls
        if call.request.url.startswith(DCE)
    ]
    assert tokens == ["Bearer tok-old", "Bearer tok-new"]
    assert result.delivered == 40
    assert stats.depth == 0


def test_token_endpoint_refusal_holds_with_credential_advice(
    lia_settings, azure, caplog
):
    caplog.set_level(logging.DEBUG)
    _token_reply(azure, status=401)
    result, stats, quarantined = _ship(lia_settings(hold_attempts=2))
    assert result.held is not None
    assert "client secret" in quarantined[0].advice
    assert len(quarantined) == 40
    assert stats.depth == 0
    assert CLIENT_SECRET not in caplog.text
    assert CLIENT_SECRET not in repr(result)


def test_413_splits_the_batch_until_every_part_fits(lia_settings, azure):
    _token_reply(azure)

    def ingest(request):
        size = len(gzip.decompress(request.body))
        if size > 1500:
            return 413, {}, b'{"error":{"code":"PayloadTooLarge","message":"big"}}'
        return 204, {}, b""

    azure.add_callback(responses.POST, INGEST_URL, callback=ingest)
    result, _, quarantined = _ship(lia_settings())
    assert result.delivered == 40
    assert quarantined == []
    assert result.errors["PayloadTooLarge"] >= 1


def test_requests_stay_under_one_megabyte_uncompressed(lia_settings, azure):
    _token_reply(azure)
    sizes = []

    def ingest(request):
        sizes.append(len(gzip.decompress(request.body)))
        return 204, {}, b""

    azure.add_callback(responses.POST, INGEST_URL, callback=ingest)
    settings = lia_settings(batch_bytes=30_000_000, batch_records=100_000)
    with Spool(settings.spool) as spool:
        spool.append(_records(3000, size=1000))
        result = Shipper(spool, LogsIngestionSink(settings), settings).run()
    assert result.delivered == 3000
    assert max(sizes) <= 1_000_000
    assert max(sizes) > 990_000
