"""The functions' code and dependency layers, built without Docker: pip picks Linux wheels for the
Lambda runtime, what no function can load is left out, so code and layers stay far below Lambda's
250 MB, and the code and main layer ship byte-code compiled by the runtime's own Python (Lambda's
file system is read-only: without it every cold start compiles every module it imports).

The runtime is the one the build machine can check: x86_64 with the Python version below, which
tests/infra/test_assets.py runs to import every handler from the built assets alone.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from postventa.journeys.library import SETTINGS_FILE, Library

ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = ROOT / "build" / "lambda-layer"
CODE_DIR = ROOT / "build" / "lambda-code"
BACKTEST_CODE_DIR = ROOT / "build" / "lambda-code-backtest"
# Only the handler code ships: the local engine, the backtest, the local tools, the CLI and the local
# report (DuckDB; Athena runs the same SQL files in the cloud) stay out; import-linter keeps the
# shipped code from importing them.
CODE_EXCLUDES = frozenset(
    {
        "asl",
        "backtest",
        "local",
        "cli.py",
        "analytics/kpis.py",
        "analytics/report.py",
        "analytics/report_html.py",
        "templates/report",
        "journeys/starter",
    }
)
# The backtest's workers on AWS run the local engine and the replay on the functions' own code.
BACKTEST_CODE_EXCLUDES = CODE_EXCLUDES - {"asl", "backtest"}
DEFAULT_LIBRARY = Library()
RUNTIME_PYTHON = "3.13"
# numpy and scipy's newer wheels are manylinux_2_28 (Lambda's Amazon Linux 2023 has glibc 2.34).
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
# The AWS services the functions call (boto3.client / boto3.resource), and X-Ray, whose SDK makes a
# client for its sampling rules at import: botocore keeps their models only.
# tests/infra/test_assets.py fails when the code calls one that is not here.
AWS_SERVICES = frozenset(
    {
        "dynamodb",
        "events",
        "pinpoint",
        "s3",
        "secretsmanager",
        "sesv2",
        "sns",
        "sqs",
        "stepfunctions",
        "sts",
        "xray",
    }
)


def runtime_requirements(extra: str | None = None) -> list[str]:
    """The project's runtime dependencies, or one optional group of them (e.g. "analytics")."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["optional-dependencies"][extra] if extra else project["dependencies"])


def tested_versions() -> list[str]:
    """Every distribution installed where the tests run, pinned: the layer gets the versions the
    tests ran with, not whatever is newest within the ranges on the day of the build."""
    pins = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    pins.pop("postventa", None)
    return sorted(f"{name}=={version}" for name, version in pins.items())


def template_languages(library: Library = DEFAULT_LIBRARY) -> set[str]:
    """The languages messages and pages are written in (the shop's folder's too): the only ones
    amounts are formatted for."""
    return {
        folder.name.split("-")[0]
        for root in library.template_roots
        for folder in root.glob("*/*")
        if folder.is_dir()
    }


def runtime_python() -> str | None:
    """The Lambda runtime's Python on this machine (pyenv's, or on the PATH), if it has one."""
    found = sorted(Path.home().glob(f".pyenv/versions/{RUNTIME_PYTHON}.*/bin/python{RUNTIME_PYTHON}"))
    return str(found[-1]) if found else shutil.which(f"python{RUNTIME_PYTHON}")


def compile_for_runtime(folder: Path) -> bool:
    """Byte-code for the runtime's Python beside every module, checked by nothing at import
    (unchecked-hash: the files never change once deployed). False when this machine has no such
    Python: the asset then ships source only, and every cold start compiles what it imports."""
    python = runtime_python()
    if python is None:
        print(
            f"postventa: no Python {RUNTIME_PYTHON} here: {folder} ships without byte-code", file=sys.stderr
        )
        return False
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(folder)],
        check=True,
    )
    return True


def build_code(*, backtest: bool = False, library: Library = DEFAULT_LIBRARY) -> Path:
    """functions/ as the functions run it: the shipped modules of postventa, compiled; with the
    backtest's replay and engine for its workers; the shop's folder laid over it."""
    source = ROOT / "functions" / "postventa"
    excludes, target = (BACKTEST_CODE_EXCLUDES, BACKTEST_CODE_DIR) if backtest else (CODE_EXCLUDES, CODE_DIR)

    def left_out(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(source)
        return {
            name
            for name in names
            if name == "__pycache__" or name.endswith(".pyc") or (relative / name).as_posix() in excludes
        }

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target / "postventa", ignore=left_out)
    _lay_over(library, target / "postventa")
    compile_for_runtime(target)
    return target


def _lay_over(library: Library, package: Path) -> None:
    """The journeys in use become the package's definitions and the shop's templates go over the
    defaults, so the functions' default Library() is the shop's, as the CLI read it."""
    if library.shop is None:
        return
    files = library.journey_files()
    definitions = package / "journeys" / "definitions"
    shutil.rmtree(definitions)
    definitions.mkdir()
    for path in files:
        shutil.copy2(path, definitions / path.name)
    (package / "journeys" / SETTINGS_FILE).write_text(library.packaged_settings(), encoding="utf-8")
    for root in reversed(library.template_roots[:-1]):
        shutil.copytree(root, package / "templates", dirs_exist_ok=True)


def build_layer(extra: str | None = None, library: Library = DEFAULT_LIBRARY) -> Path:
    """Install the requirements into build/lambda-layer[-extra]/python, reusing a build of the same
    inputs. The main layer is compiled for the runtime; the analytics one (numpy, SciPy: a daily
    job's, where a cold start matters little and byte-code would add a third to its size) is not."""
    requirements = runtime_requirements(extra)
    constraints = tested_versions()
    layer_dir = LAYER_DIR.with_name(f"{LAYER_DIR.name}-{extra}") if extra else LAYER_DIR
    compiled = extra is None and runtime_python() is not None
    inputs = [
        RUNTIME_PYTHON,
        *PLATFORMS,
        *requirements,
        *constraints,
        *sorted(template_languages(library)),
        str(compiled),
    ]
    fingerprint = hashlib.sha256("\n".join([*inputs, Path(__file__).read_text()]).encode()).hexdigest()
    stamp = layer_dir.with_suffix(".fingerprint")  # beside the layer, so it is not shipped in it
    if stamp.exists() and stamp.read_text() == fingerprint:
        return layer_dir
    shutil.rmtree(layer_dir, ignore_errors=True)
    pinned = Path(tempfile.mkdtemp()) / "constraints.txt"
    pinned.write_text("\n".join(constraints) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(layer_dir / "python"),
            *[option for platform in PLATFORMS for option in ("--platform", platform)],
            "--python-version",
            RUNTIME_PYTHON,
            "--implementation",
            "cp",
            "--only-binary=:all:",
            "--constraint",
            str(pinned),
            *requirements,
        ],
        check=True,
    )
    shutil.rmtree(pinned.parent)
    prune(layer_dir / "python", template_languages(library))
    if compiled:
        compile_for_runtime(layer_dir / "python")
    stamp.write_text(fingerprint)
    return layer_dir


def prune(site: Path, languages: set[str]) -> None:
    """Leave out what no function loads: test suites, scripts, the models of AWS services never
    called, and the locale data of languages no template is written in."""
    for folder in [*site.rglob("tests"), site / "bin"]:
        if folder.is_dir():
            shutil.rmtree(folder)
    for models in (site / "botocore" / "data", site / "boto3" / "data"):
        for service in models.glob("*/") if models.is_dir() else []:
            if service.name not in AWS_SERVICES:
                shutil.rmtree(service)
    for data in (site / "babel" / "locale-data").glob("*.dat"):
        if data.stem != "root" and data.stem.split("_")[0] not in languages:
            data.unlink()
