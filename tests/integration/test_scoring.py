"""The scoring job's results on the profiles (DynamoDB through moto), and what journeys then see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from postventa.analytics.scoring import OrderLine, score_customers
from postventa.logic.facts import facts
from tests.conftest import EVENTS, load_json


def test_scores_land_on_existing_profiles_only_and_become_facts(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))  # cus-ana: Trail running shoes, Merino socks
    rng = np.random.default_rng(1)
    as_of = datetime(2026, 6, 30, tzinfo=UTC)
    orders = [
        OrderLine(
            "cus-ana", datetime(2026, 3, 2, 9, 15, tzinfo=UTC), 158.0, ("Trail running shoes", "Merino socks")
        )
    ]
    for i in range(400):  # a shop's history: half buy shoes, and a third of those come back for a cap
        first = as_of - timedelta(days=float(rng.uniform(30, 300)))
        product = "Trail running shoes" if i % 2 else "Bottle"
        orders.append(OrderLine(f"c{i}", first, float(rng.gamma(4, 20)), (product,)))
        if i % 6 == 1:
            later = first + timedelta(days=20)
            orders.append(OrderLine(f"c{i}", later, float(rng.gamma(4, 20)), ("Running cap",)))
    scoring = score_customers(orders, as_of)
    assert scoring.model is not None

    written = local.wiring.store.save_scores(scoring.customers, as_of)
    assert written == 1  # the 400 others have no profile here: none is created
    ana = local.wiring.store.get_profile("cus-ana")
    assert ana.recommended == ["Running cap"]  # complements of what she bought, not what she has
    assert ana.p_alive is not None and ana.predicted_value is not None and ana.rfm
    assert ana.scored_at == as_of and ana.email == "ana@example.com"  # the rest of the profile kept
    customer = facts(profile=ana, order=None, now=as_of)["customer"]
    assert customer["recommended"] == ["Running cap"] and customer["predicted_value"] == ana.predicted_value
