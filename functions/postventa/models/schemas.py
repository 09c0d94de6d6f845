"""JSON Schema of each detail-type in the contract, and of each the shop declared, for
storefront teams and schema registries."""

from __future__ import annotations

import json
from pathlib import Path

from postventa.models.custom import OURS_ALONE, ShopContract
from postventa.models.events import DETAIL_MODELS


def schema_file_name(detail_type: str, version: str = "1") -> str:
    return f"{detail_type.lower().replace(' ', '-')}.v{version}.json"


def export_schemas(directory: Path, contract: ShopContract = OURS_ALONE) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    models = {
        **{str(detail_type): (model, "detail, version 1") for detail_type, model in DETAIL_MODELS.items()},
        **{name: (event.model, "detail, as declared") for name, event in contract.events.items()},
    }
    written = []
    for detail_type, (model, kind) in models.items():
        schema = model.model_json_schema()
        schema["title"] = f"{detail_type} ({kind})"
        schema["$id"] = f"https://postventa.dev/schemas/{schema_file_name(detail_type)}"
        path = directory / schema_file_name(detail_type)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
