"""The scoring job's results on the profiles (DynamoDB through moto), and what journeys then see."""

from __future__ import annotations

from datetime import UTC, datetime

from postventa.analytics.scoring import Customers, fit_scoring_model
from postventa.logic.facts import facts
from tests.conftest import EVENTS, load_json
from tests.unit.test_scoring import customers


def test_scores_land_on_existing_profiles_only_and_become_facts(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))  # cus-ana: Trail running shoes, Merino socks
    as_of = datetime(2026, 6, 30, tzinfo=UTC)
    shop = customers(400)
    ana = Customers.from_rows([("cus-ana", 0, 0, 120, 0, 158, 158, "Trail shoes")])
    model = fit_scoring_model(shop)
    _, scores = model.score(ana)
    _, others = model.score(shop)

    written = local.wiring.store.save_scores([*scores, *others], as_of)
    assert written == 1  # the 400 others have no profile here: none is created
    profile = local.wiring.store.get_profile("cus-ana")
    assert profile.recommended == ["Running cap"]  # the complement of what she bought
    assert profile.p_alive is not None and profile.predicted_value is not None and profile.rfm
    assert profile.scored_at == as_of and profile.email == "ana@example.com"  # the rest of the profile kept
    customer = facts(profile=profile, order=None, now=as_of)["customer"]
    assert (
        customer["recommended"] == ["Running cap"] and customer["predicted_value"] == profile.predicted_value
    )
