"""The assets `cdk deploy` uploads, as synth built them: every function's code and layers fit Lambda
with room to spare, carry byte-code for the runtime's Python only, and import on that Python from
those files alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from postventa_infra.layer import AWS_SERVICES, RUNTIME_PYTHON
from tests.conftest import ROOT

pytestmark = pytest.mark.xdist_group("infra")  # the same worker as test_stack: one synth, one layer build
BUDGET = 200 * 1024 * 1024  # unzipped code and layers; Lambda refuses more than 262,144,000 bytes


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _asset(assembly: Path, code: dict) -> Path:
    return assembly / f"asset.{code['S3Key'].removesuffix('.zip')}"


@pytest.fixture(scope="module")
def functions(synthesized) -> dict[str, tuple[str, list[Path]]]:
    """Each of Postventa's functions: its handler, and the folders it runs from (code, then layers)."""
    path, template = synthesized
    assembly = path.parent
    resources = template["Resources"]
    found = {}
    for name, resource in resources.items():
        properties = resource["Properties"]
        if resource["Type"] != "AWS::Lambda::Function" or not properties.get("Handler", "").startswith(
            "postventa."
        ):
            continue
        layers = [
            _asset(assembly, resources[layer["Ref"]]["Properties"]["Content"])
            for layer in properties.get("Layers", [])
        ]
        found[name] = (
            properties["Handler"],
            [_asset(assembly, properties["Code"]), *(layer / "python" for layer in layers)],
        )
    assert len(found) == len(HANDLERS)
    return found


def test_every_function_with_its_layers_stays_far_below_lambdas_size_limit(functions):
    sizes = {name: sum(_size(folder) for folder in folders) for name, (_, folders) in functions.items()}
    assert all(size < BUDGET for size in sizes.values()), {n: f"{s / 2**20:.0f} MB" for n, s in sizes.items()}


def test_byte_code_ships_for_the_runtime_s_python_only_and_for_every_module_of_the_code(functions):
    shipped = {folder for _, folders in functions.values() for folder in folders}
    tag = f"cpython-{RUNTIME_PYTHON.replace('.', '')}"
    assert [
        str(pyc) for folder in shipped for pyc in folder.rglob("*.pyc") if f".{tag}." not in pyc.name
    ] == []
    code = [folder for folder in shipped if (folder / "postventa" / "handlers").is_dir()]
    missing = [
        str(module)
        for folder in code
        for module in folder.rglob("*.py")
        if not (module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc").exists()
    ]
    assert code and missing == []  # Lambda's file system is read-only: no byte-code, no cache


def test_the_local_tools_stay_out_of_the_functions_code(functions):
    """The backtest's workers alone carry the replay and the engine; no function carries the CLI."""
    for handler, (code, *_) in functions.values():
        backtest = handler.startswith("postventa.backtest.")
        root = code / "postventa"
        assert (root / "handlers").is_dir()
        assert all(not (root / name).exists() for name in ("local", "cli.py")), handler
        assert all((root / name).exists() == backtest for name in ("asl", "backtest")), handler


def test_every_aws_service_the_code_calls_keeps_its_botocore_model():
    called = {
        service
        for source in (ROOT / "functions" / "postventa").rglob("*.py")
        if "/local/" not in source.as_posix() and source.name != "cli.py"
        for service in re.findall(r'boto3\.(?:client|resource)\(\s*"([a-z0-9-]+)"', source.read_text())
    }
    assert called and called <= AWS_SERVICES


def _runtime_python() -> str:
    """The Lambda runtime's Python version, as pyenv installs it on the build machines."""
    found = sorted(
        Path(os.path.expanduser("~/.pyenv/versions")).glob(f"{RUNTIME_PYTHON}.*/bin/python{RUNTIME_PYTHON}")
    )
    assert found, (
        f"Python {RUNTIME_PYTHON} (the Lambda runtime's) is needed to check the assets: pyenv install {RUNTIME_PYTHON}"
    )
    return str(found[-1])


# Run as `python -I -S`: no environment, no site-packages of that interpreter: the assets or nothing.
IMPORT_CHECK = """
import importlib, json, sys
module, path = sys.argv[1], json.loads(sys.argv[2])
sys.path[:0] = path
assert callable(importlib.import_module(module).lambda_handler)
if "score" in module:
    importlib.import_module("postventa.analytics.scoring")  # numpy and scipy's compiled parts
if "backtest" in module:  # a partition replayed, held messages' JSONata waits included
    from postventa.backtest import Assumptions, synthetic_history
    from postventa.backtest.replay import replay
    from postventa.journeys.loader import load_journeys
    tally = replay(synthetic_history(40, 30, 2), load_journeys(), Assumptions(), lambda done: None)
    assert tally.volumes and tally.transitions, tally
if module == "handlers.run_step":  # the shop's folder, laid over the package: its journeys and templates
    from postventa.journeys.library import Library
    from postventa.models.events import Channel
    library = Library()
    assert "vip-thanks" in library.journeys() and "welcome" in library.journeys()
    renderer = library.renderer()
    assert renderer.locale_for(Channel.EMAIL, "vip_thanks", "es-MX") == "es"
    subject = library.template_roots[0] / "email" / "en" / "welcome.subject.txt"
    assert subject.read_text().startswith("Welcome to the club"), subject.read_text()
print(module, "%d.%d" % sys.version_info[:2])
"""


HANDLERS = [
    "backtest.backtest_merge",
    "backtest.backtest_replay",
    "handlers.archive",
    "handlers.export_audiences",
    "handlers.inbox",
    "handlers.occasions",
    "handlers.on_engagement",
    "handlers.on_order",
    "handlers.on_sms_status",
    "handlers.preferences",
    "handlers.record_winners",
    "handlers.register_wait",
    "handlers.rotate_link_key",
    "handlers.run_step",
    "handlers.score_batch",
    "handlers.score_fit",
    "handlers.write_consent",
]


@pytest.mark.parametrize("name", HANDLERS)
def test_a_handler_imports_from_its_built_assets_alone_on_the_runtimes_python(functions, name):
    module = f"postventa.{name}"
    (folders,) = [folders for handler, folders in functions.values() if handler == f"{module}.lambda_handler"]
    environment = {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "postventa"}
    result = subprocess.run(
        [_runtime_python(), "-I", "-S", "-c", IMPORT_CHECK, module, json.dumps([str(f) for f in folders])],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [module, RUNTIME_PYTHON]


def test_the_shops_settings_ship_with_its_journeys_so_the_functions_export_its_audiences(functions):
    import yaml

    from postventa.journeys.library import SETTINGS_FILE, Library, ShopSettings
    from tests.conftest import SHOP

    (code,) = [folders[0] for handler, folders in functions.values() if "export_audiences" in handler]
    shipped = ShopSettings.model_validate(
        yaml.safe_load((code / "postventa" / "journeys" / SETTINGS_FILE).read_text())
    )
    # the definitions already are the journeys kept: every one of them stays
    assert shipped == Library(SHOP).settings.model_copy(update={"defaults": "all"})
    assert [a.name for a in shipped.audiences] == ["promoters", "at_risk_vips", "lapsed"]
