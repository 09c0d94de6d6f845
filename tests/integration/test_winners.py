"""A/B winners at runtime: the report records what it decided in the stack's table (moto), `winner:
auto` splits read it (tests/integration/test_journey_shapes.py), and a marketer can see and undo it."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from postventa.cli import main
from postventa.composition import store_for_table
from postventa.local.simulate import LOCAL_SETTINGS, provision_local_resources
from tests.unit.test_report import win_back_test_archive

TABLE = LOCAL_SETTINGS["table_name"]


def test_the_report_records_its_winner_which_a_marketer_can_see_and_forget(tmp_path, capsys):
    archive = win_back_test_archive(tmp_path)
    with mock_aws():
        provision_local_resources(dict(LOCAL_SETTINGS))
        common = ["report", "--archive", str(archive), "--as-of", "2026-12-31", "--json"]
        assert main([*common, "--record-winners", TABLE]) == 0
        assert "winner of win-back.offer: ten_percent (recorded)" in capsys.readouterr().err
        decided = store_for_table(TABLE).decided_winner("win-back.offer")
        assert decided is not None and decided.winner == "ten_percent"
        assert "beats every other variant" in decided.reason

        assert main(["experiments", "show", "win-back.offer", "--table", TABLE]) == 0
        assert json.loads(capsys.readouterr().out)["winner"] == "ten_percent"
        assert main(["experiments", "forget", "win-back.offer", "--table", TABLE]) == 0
        assert "back to its weights" in capsys.readouterr().err
        assert store_for_table(TABLE).decided_winner("win-back.offer") is None
        assert main(["experiments", "forget", "win-back.offer", "--table", TABLE]) == 1
        assert boto3.resource("dynamodb").Table(TABLE).scan()["Items"] == []  # nothing else written
