"""JSON Schema of each detail-type in the contract, for storefront teams and schema registries."""

from __future__ import annotations

import json
from pathlib import Path

from postventa.models.events import DETAIL_MODELS


def schema_file_name(detail_type: str, version: str = "1") -> str:
    return f"{detail_type.lower().replace(' ', '-')}.v{version}.json"


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for detail_type, model in DETAIL_MODELS.items():
        schema = model.model_json_schema()
        schema["title"] = f"{detail_type.value} (detail, version 1)"
        schema["$id"] = f"https://postventa.dev/schemas/{schema_file_name(detail_type.value)}"
        path = directory / schema_file_name(detail_type.value)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
