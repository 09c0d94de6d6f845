"""Erasure and export against moto, end to end: a customer's request (our event, Shopify's
customers/redact, the CLI) removes everything Postventa keeps about them and stops their journeys."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json

import boto3
import pytest

from postventa.cli import main
from postventa.local.simulate import LOCAL_SHOPIFY_SECRET, LocalPostventa
from postventa.local.web import http_api_event
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_emails


@pytest.fixture
def local():
    with LocalPostventa(start=T0) as running:  # the default library: birthdays, win-back, NPS...
        yield running


def _ana(local) -> None:
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"].update(phone="612 34 56 78", birthday="1990-05-17")
    local.deliver(placed)
    local.engine.run_until(local.engine.now)


def _items_about(local, *needles: str) -> list[dict]:
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    items = table.scan()["Items"]
    return [item for item in items if any(needle in json.dumps(item, default=str) for needle in needles)]


def _erasure_event(customer_id: str) -> dict:
    return {
        "version": "0",
        "id": "evt-erase-1",
        "detail-type": "Customer Erasure Requested",
        "source": "com.shop.example.helpdesk",
        "account": "123456789012",
        "time": "2026-03-03T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"schema_version": "1", "customer_id": customer_id, "requested_at": "2026-03-03T10:00:00Z"},
    }


def test_an_erased_customer_leaves_nothing_behind_and_gets_nothing_more(local):
    _ana(local)
    assert len(_items_about(local, "cus-ana", "A-1001", "+34612345678")) >= 5  # profile, order, calendar...
    local.deliver(_erasure_event("cus-ana"))  # the welcome, due before the request, went out
    emails = len(sent_emails())
    (erased,) = [d for d in local.decisions if d.kind == "erased"]
    assert erased.customer_id == "cus-ana" and "journeys stopped" in erased.reason
    assert _items_about(local, "cus-ana", "A-1001", "+34612345678") == []
    statuses = {e.status for e in local.engine.executions.values()}
    assert "ABORTED" in statuses and "RUNNING" not in statuses

    local.deliver(load_json(EVENTS / "order-fulfilled.json"))  # a late event about the erased order
    local.engine.run_until_idle()
    assert len(sent_emails()) == emails
    assert _items_about(local, "cus-ana", "A-1001") == [] or all(
        item["sk"].startswith("EARLY#") for item in _items_about(local, "cus-ana", "A-1001")
    )  # a fulfilment of an order no longer known is only kept, and expires in 30 days


def test_the_cli_exports_everything_kept_then_erases_it(local, capsys):
    _ana(local)
    assert main(["customers", "export", "cus-ana", "--table", local.settings.table_name]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["profile"]["email"] == "ana@example.com"
    assert [o["order_id"] for o in exported["orders"]] == ["A-1001"]
    assert [m["step"] for m in exported["messages"]] == ["order_confirmation"]
    assert exported["journeys"] and exported["survey_answers"] == []

    assert main(["customers", "erase", "cus-ana", "--table", local.settings.table_name]) == 2  # no --yes
    assert main(["customers", "erase", "cus-ana", "--table", local.settings.table_name, "--yes"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["items_deleted"] >= 5 and report["journeys_stopped"] >= 1
    assert _items_about(local, "cus-ana", "A-1001", "+34612345678") == []


def _compliance(local, topic: str, payload: dict, secret: str = LOCAL_SHOPIFY_SECRET) -> dict:
    """Shopify's compliance webhook as it arrives over HTTPS: the raw body and its HMAC header."""
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "Content-Type": "application/json",
    }
    return local.http(http_api_event("POST", "/shopify/compliance", headers, body))


def test_shopify_compliance_webhooks_over_https_erase_only_when_signed_by_the_app(local):
    local.deliver(load_json(EVENTS / "shopify" / "orders-create.json"))
    local.engine.run_until(local.engine.now)
    redact = load_json(EVENTS / "shopify" / "customers-redact.json")["body"]

    forged = _compliance(local, "customers/redact", redact, secret="not-the-app-secret")
    assert forged["statusCode"] == 401
    local.relay_bus()
    assert _items_about(local, "9007199254740993001")  # nothing erased

    data_request = {**redact, "data_request": {"id": 9999}}
    requested = _compliance(local, "customers/data_request", data_request)
    assert requested["statusCode"] == 200 and json.loads(requested["body"]) == {"done": "export requested"}
    local.relay_bus()
    (exported,) = [d for d in local.decisions if d.kind == "exported"]
    export = boto3.client("s3").get_object(Bucket=local.settings.archive_bucket, Key="exports/9999.json")
    data = json.loads(export["Body"].read())
    assert exported.reason == f"s3://{local.settings.archive_bucket}/exports/9999.json"
    assert data["profile"]["email"] == "ben@example.com" and [o["order_id"] for o in data["orders"]] == [
        "9007199254740993123"
    ]

    response = _compliance(local, "customers/redact", redact)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"done": "erasure requested"}
    local.relay_bus()  # Customer Erasure Requested went to the bus and comes back through on_order
    assert [d.kind for d in local.decisions][-1] == "erased"
    assert _items_about(local, "9007199254740993001", "ben@example.com") == []


def test_erasure_removes_the_customers_rows_from_the_analytics_archive_and_keeps_the_rest(local):
    _ana(local)
    s3 = boto3.client("s3")
    bucket = local.settings.archive_bucket
    rows = [{"customer_id": "cus-ana", "order_id": "A-1001"}, {"customer_id": "cus-bob", "order_id": "B-1"}]
    body = gzip.compress("".join(json.dumps(row) + "\n" for row in rows).encode())
    s3.put_object(Bucket=bucket, Key="archive/orders/dt=2026-03-02/part-1.gz", Body=body)
    s3.put_object(Bucket=bucket, Key="archive/surveys/dt=2026-03-02/part-1.gz", Body=gzip.compress(b""))

    local.deliver(_erasure_event("cus-ana"))
    (erased,) = [d for d in local.decisions if d.kind == "erased"]
    assert "1 archive rows deleted" in erased.reason
    kept = gzip.decompress(
        s3.get_object(Bucket=bucket, Key="archive/orders/dt=2026-03-02/part-1.gz")["Body"].read()
    )
    assert [json.loads(line)["customer_id"] for line in kept.decode().splitlines()] == ["cus-bob"]
