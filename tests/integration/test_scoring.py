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
    _, scores = model.score(ana, as_of.date())
    _, others = model.score(shop, as_of.date())

    written = local.services.store.save_scores([*scores, *others], as_of)
    assert written == 1  # the 400 others have no profile here: none is created
    profile = local.services.store.get_profile("cus-ana")
    assert profile.recommended == ["Running cap"]  # the complement of what she bought
    assert profile.p_alive is not None and profile.predicted_value is not None and profile.rfm
    assert profile.scored_at == as_of and profile.email == "ana@example.com"  # the rest of the profile kept
    customer = facts(profile=profile, order=None, now=as_of)["customer"]
    assert (
        customer["recommended"] == ["Running cap"] and customer["predicted_value"] == profile.predicted_value
    )


def test_the_scheduled_job_fits_once_then_scores_batches_onto_profiles(local):
    """Athena's CSV in S3 -> score_fit (model saved) -> score_batch per Distributed Map batch -> profiles."""
    import csv
    import io

    import boto3

    from postventa.analytics.scoring import SUMMARY_COLUMNS
    from tests.integration.test_archive import _Context

    local.deliver(load_json(EVENTS / "order-placed.json"))
    shop = customers(600)
    s = shop.summary
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)  # as Athena writes results
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerow(["cus-ana", "0", "0.0", "120.5", "0.0", "158.0", "158.0", "Trail shoes"])
    for i, customer in enumerate(shop.ids):
        products = "|".join(sorted(shop.baskets[i]))
        writer.writerow([customer, s.x[i], s.t_x[i], s.T[i], s.m[i], s.first[i], shop.spend[i], products])
    s3 = boto3.client("s3")
    s3.put_object(Bucket="postventa-archive", Key="athena-results/q-1.csv", Body=text.getvalue().encode())

    fitted = local.lambdas["score_fit"](
        {"bucket": "postventa-archive", "key": "athena-results/q-1.csv"}, _Context()
    )
    assert (fitted["customers"], fitted["fitted_on"], fitted["not_fitted"]) == (601, 601, None)
    assert (
        s3.get_object(Bucket="postventa-archive", Key=fitted["model_key"])["ContentType"]
        == "application/json"
    )

    with io.StringIO(text.getvalue()) as source:
        items = list(csv.DictReader(source))  # what the Distributed Map's CSV reader hands each batch
    batches = [items[start : start + 250] for start in range(0, len(items), 250)]
    scored_at = "2026-06-30T02:00:00Z"
    results = [
        local.lambdas["score_batch"](
            {"Items": batch, "BatchInput": {"model_key": fitted["model_key"], "scored_at": scored_at}},
            _Context(),
        )
        for batch in batches
    ]
    assert sum(r["customers"] for r in results) == 601 and sum(r["written"] for r in results) == 1
    profile = local.services.store.get_profile("cus-ana")
    assert profile.recommended == ["Running cap"] and profile.predicted_value is not None
    assert profile.scored_at == datetime(2026, 6, 30, 2, tzinfo=UTC)


def test_the_scoring_job_records_the_winners_the_journeys_conversions_decide(local):
    """Athena's conversions CSV (sql/conversions.sql, as Athena writes results) -> record_winners ->
    the decided winner in the table, as the report decides it; undecided tests record nothing."""
    import csv
    import io

    import boto3

    from tests.integration.test_archive import _Context

    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    writer.writerow(["journey", "experiment", "variant", "customers", "conversions", "revenue"])
    writer.writerow(["win-back", "win-back.offer", "free_shipping", "2000", "300", "18000.0"])
    writer.writerow(["win-back", "win-back.offer", "holdout", "1000", "100", "6000.0"])
    writer.writerow(["win-back", "win-back.offer", "ten_percent", "2000", "500", "30000.0"])
    writer.writerow(["cross-sell", "cross-sell.copy", "a", "1500", "150", "0"])
    writer.writerow(["cross-sell", "cross-sell.copy", "b", "1500", "152", "0"])  # no difference: undecided
    writer.writerow(["welcome", "", "", "800", "90", "0"])  # no experiment
    boto3.client("s3").put_object(
        Bucket="postventa-archive", Key="athena-results/c-1.csv", Body=text.getvalue().encode()
    )

    result = local.lambdas["record_winners"](
        {
            "bucket": "postventa-archive",
            "key": "athena-results/c-1.csv",
            "decided_at": "2026-06-30T03:00:00Z",
        },
        _Context(),
    )

    assert result == {"experiments": 3, "winners": 1}
    decided = local.services.store.decided_winner("win-back.offer")
    assert decided.winner == "ten_percent" and decided.decided_at == datetime(2026, 6, 30, 3, tzinfo=UTC)
    assert local.services.store.decided_winner("cross-sell.copy") is None
