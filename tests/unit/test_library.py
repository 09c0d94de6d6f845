"""The shop's own folder laid over the default library: which journeys and templates are in use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound

from postventa.journeys.library import DEFAULT_TOPICS, Library
from postventa.journeys.loader import DEFINITIONS, JourneyError
from postventa.local.samples import render_sample
from postventa.models.events import Channel
from tests.conftest import SHOP

DEFAULT_NAMES = sorted(path.stem for path in DEFINITIONS.glob("*.yaml"))


def _shop(tmp_path: Path, settings: str | None = None) -> Path:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    if settings is not None:  # the shop's own event and attributes stay declared: its journey reads them
        own = (SHOP / "postventa.yaml").read_text(encoding="utf-8").split("# The shop's own events")[1]
        (shop / "postventa.yaml").write_text(f"{settings}# The shop's own events{own}", encoding="utf-8")
    return shop


def test_the_default_library_alone_is_the_packaged_journeys():
    assert sorted(Library().journeys()) == DEFAULT_NAMES
    assert Library().topics == DEFAULT_TOPICS


def test_a_shop_journey_is_added_to_the_defaults_and_its_topics_declared():
    library = Library(SHOP)
    assert sorted(library.journeys()) == sorted([*DEFAULT_NAMES, "points-expiring", "vip-thanks"])
    assert library.topics == (*DEFAULT_TOPICS, "perks")


def test_a_shop_file_named_like_a_default_replaces_it(tmp_path):
    shop = _shop(tmp_path)
    text = (DEFINITIONS / "welcome.yaml").read_text(encoding="utf-8")
    (shop / "journeys" / "welcome.yaml").write_text(text.replace("version: ", "version: 9"), encoding="utf-8")
    library = Library(shop)
    assert [path for path in library.journey_files() if path.stem == "welcome"] == [
        shop / "journeys" / "welcome.yaml"
    ]
    assert library.journeys()["welcome"].version == int("9" + text.split("version: ")[1].split()[0])


def test_defaults_kept_by_name_or_none(tmp_path):
    kept = Library(_shop(tmp_path, "defaults: [welcome, win-back]\n")).journeys()
    assert sorted(kept) == ["points-expiring", "returning-thanks", "vip-thanks", "welcome", "win-back"]
    shutil.rmtree(tmp_path / "shop")
    assert sorted(Library(_shop(tmp_path, "defaults: none\n")).journeys()) == [
        "points-expiring",
        "returning-thanks",
        "vip-thanks",
    ]


def test_an_unknown_default_is_named_with_the_ones_there_are(tmp_path):
    with pytest.raises(JourneyError) as error:
        Library(_shop(tmp_path, "defaults: [welcome, winback]\n")).journeys()
    assert error.value.problems == [
        f"{tmp_path / 'shop'}/postventa.yaml: defaults: no default journey 'winback'; "
        f"there are: {', '.join(DEFAULT_NAMES)}"
    ]


def test_a_bad_settings_file_and_a_missing_folder_are_errors(tmp_path):
    with pytest.raises(JourneyError) as error:
        Library(_shop(tmp_path, "topics: [Perks!]\n")).journeys()
    assert error.value.problems == [
        f"{tmp_path / 'shop'}/postventa.yaml: topics: 'Perks!' is not a topic name: "
        "lower case letters, digits and _ (up to 32)"
    ]
    with pytest.raises(JourneyError, match="no such folder"):
        Library(tmp_path / "nowhere").journeys()


def test_shop_templates_come_before_the_defaults_and_fall_back_to_them():
    shop = render_sample("welcome", Channel.EMAIL, "en", marketing=True, library=Library(SHOP))
    default = render_sample("welcome", Channel.EMAIL, "en", marketing=True)
    assert "Subject: Welcome to the club, Alex" in shop.splitlines()
    # The shop overrode the subject alone: the body is still the default's.
    assert shop.splitlines()[2:] == default.splitlines()[2:]
    renderer = Library(SHOP).renderer()
    assert renderer.locale_for(Channel.EMAIL, "vip_thanks", "es") == "es"
    assert renderer.locale_for(Channel.SMS, "vip_thanks", "es") == "en"  # no Spanish SMS: the shop's locale
    with pytest.raises(TemplateNotFound):
        Library().renderer().locale_for(Channel.EMAIL, "vip_thanks", "es")
