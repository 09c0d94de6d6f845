#!/usr/bin/env python3
"""The CDK app: one Postventa stack, checked by cdk-nag's AwsSolutions rules on every synth."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from postventa_infra.app import build_app

build_app().synth()
