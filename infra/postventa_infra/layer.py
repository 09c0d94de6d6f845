"""The dependency layer, built without Docker: pip picks Linux wheels for the Lambda runtime."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = ROOT / "build" / "lambda-layer"
# boto3 ships with the Lambda runtime; the layer carries what it lacks.
PROVIDED_BY_RUNTIME = ("boto3",)


def runtime_requirements(extra: str | None = None) -> list[str]:
    """The project's runtime dependencies, or one optional group of them (e.g. "analytics")."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [req for req in requirements if not req.startswith(PROVIDED_BY_RUNTIME)]


def build_layer(python_version: str, platforms: list[str], extra: str | None = None) -> Path:
    """Install the requirements into build/lambda-layer[-extra]/python, reusing a build of the same inputs."""
    requirements = runtime_requirements(extra)
    layer_dir = LAYER_DIR.with_name(f"{LAYER_DIR.name}-{extra}") if extra else LAYER_DIR
    fingerprint = hashlib.sha256("\n".join([python_version, *platforms, *requirements]).encode()).hexdigest()
    stamp = layer_dir.with_suffix(".fingerprint")  # beside the layer, so it is not shipped in it
    if stamp.exists() and stamp.read_text() == fingerprint:
        return layer_dir
    shutil.rmtree(layer_dir, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(layer_dir / "python"),
            *[option for platform in platforms for option in ("--platform", platform)],
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
            *requirements,
        ],
        check=True,
    )
    stamp.write_text(fingerprint)
    return layer_dir
