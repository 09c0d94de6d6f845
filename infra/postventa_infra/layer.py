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


def runtime_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [req for req in project["dependencies"] if not req.startswith(PROVIDED_BY_RUNTIME)]


def build_layer(python_version: str, platform: str) -> Path:
    """Install the runtime requirements into build/lambda-layer/python, reusing a build of the same inputs."""
    requirements = runtime_requirements()
    fingerprint = hashlib.sha256("\n".join([python_version, platform, *requirements]).encode()).hexdigest()
    stamp = LAYER_DIR.with_suffix(".fingerprint")  # beside the layer, so it is not shipped in it
    if stamp.exists() and stamp.read_text() == fingerprint:
        return LAYER_DIR
    shutil.rmtree(LAYER_DIR, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(LAYER_DIR / "python"),
            "--platform",
            platform,
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
    return LAYER_DIR
