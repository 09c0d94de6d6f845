"""Firehose's transformation Lambda: each change of the table (through an EventBridge Pipe from
its stream) becomes one archive row, partitioned by table and day; anything else is dropped."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent, event_source
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationRecordMetadata,
    KinesisFirehoseDataTransformationResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer

from postventa.analytics.archive import PARTITION_BY, item_row
from postventa.handlers.observability import instrumented

_deserialize = TypeDeserializer().deserialize


@instrumented()
@event_source(data_class=KinesisFirehoseEvent)
def lambda_handler(event: KinesisFirehoseEvent, context: LambdaContext) -> dict[str, Any]:
    response = KinesisFirehoseDataTransformationResponse()
    for record in event.records:
        change = record.data_as_json
        stream = change.get("dynamodb") or {}
        image = stream.get("NewImage")
        archived = None
        if image:
            item = {name: _deserialize(value) for name, value in image.items()}
            recorded_at = datetime.fromtimestamp(float(stream.get("ApproximateCreationDateTime", 0)), UTC)
            archived = item_row(item, recorded_at)
        if archived is None:
            response.add_record(record.build_data_transformation_response(result="Dropped"))
            continue
        table, row = archived
        partition = {"table": table, "dt": row[PARTITION_BY[table]][:10]}
        response.add_record(
            record.build_data_transformation_response(
                data=_base64_line(row),
                metadata=KinesisFirehoseDataTransformationRecordMetadata(partition_keys=partition),
            )
        )
    return response.asdict()


def _base64_line(row: dict[str, Any]) -> str:
    """One JSON line: Firehose concatenates records, Athena and DuckDB read a line per row."""
    return base64.b64encode((json.dumps(row) + "\n").encode()).decode()
