"""The table's stream -> Firehose transformation: real stream records (moto's DynamoDB Streams),
turned into archive rows with their partition keys, as Firehose receives them from the Pipe."""

from __future__ import annotations

import base64
import json

import boto3
from boto3.dynamodb.types import TypeSerializer

from postventa.handlers import archive
from tests.conftest import EVENTS, load_json


class _Context:
    function_name = "postventa-archive"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:postventa-archive"
    aws_request_id = "req-1"


def stream_records(local, event_name: str = "INSERT") -> list[dict]:
    """Every item of the table as the stream's NEW_IMAGE record shows it, as the Pipe hands it on
    (moto 5.2.5's DynamoDB Streams answers DescribeStream with 404 here, so the records are built
    from the stored items in the stream's record format)."""
    serialize = TypeSerializer().serialize
    items = boto3.resource("dynamodb").Table(local.settings.table_name).scan()["Items"]
    return [
        {
            "eventID": str(i),
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1772442000.0,
                "Keys": {"pk": serialize(item["pk"]), "sk": serialize(item["sk"])},
                "NewImage": {name: serialize(value) for name, value in item.items()},
                "SequenceNumber": str(100 + i),
                "StreamViewType": "NEW_IMAGE",
            },
        }
        for i, item in enumerate(items)
    ]


def firehose_event(records: list[dict]) -> dict:
    return {
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/postventa-archive",
        "region": "us-east-1",
        "records": [
            {
                "recordId": str(i),
                "approximateArrivalTimestamp": 0,
                "data": base64.b64encode(json.dumps(r).encode()).decode(),
            }
            for i, r in enumerate(records)
        ],
    }


def test_orders_and_messages_are_archived_by_table_and_day_and_the_rest_dropped(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)  # the confirmation: claimed (sending), then sent
    records = stream_records(local)
    result = archive.lambda_handler(firehose_event(records), _Context())
    assert [r["recordId"] for r in result["records"]] == [
        str(i) for i in range(len(records))
    ]  # one answer each
    kept = [r for r in result["records"] if r["result"] == "Ok"]
    rows = [(r["metadata"]["partitionKeys"], json.loads(base64.b64decode(r["data"]))) for r in kept]
    orders = [row for keys, row in rows if keys["table"] == "orders"]
    assert orders == [
        {
            "customer_id": "cus-ana",
            "order_id": "A-1001",
            "placed_at": "2026-03-02 09:15:00.000000",
            "total": 158.0,
            "currency": "EUR",
            "categories": ["footwear", "socks"],
            "products": ["Merino socks", "Trail running shoes"],
        }
    ]
    ((keys, message),) = [(keys, row) for keys, row in rows if keys["table"] == "messages"]
    assert (message["step"], message["status"], message["channel"]) == ("order_confirmation", "sent", "email")
    assert keys == {"table": "messages", "dt": message["sent_at"][:10]}
    assert (
        message["recorded_at"] == "2026-03-02 09:00:00.000000"
    )  # the stream's time: the latest version wins
    kinds = {
        r["recordId"]: records[int(r["recordId"])]["dynamodb"]["Keys"]["sk"]["S"] for r in result["records"]
    }
    dropped = {kinds[r["recordId"]].split("#")[0] for r in result["records"] if r["result"] == "Dropped"}
    assert {"PROFILE", "ENTRY"} <= dropped  # profiles and entry claims are not analytics
