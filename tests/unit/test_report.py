"""The KPI report on a small history, each figure computed by hand."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import pytest

from postventa.analytics.archive import write_archive
from postventa.analytics.experiments import experiments
from postventa.analytics.kpis import connect
from postventa.analytics.queries import query_text
from postventa.analytics.report import build_report, format_report
from postventa.cli import main

AS_OF = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
# a: 3 orders (Jan 10, Feb 9, Dec 1), shoes then socks: two categories
# b: 2 orders (Mar 1, Mar 21), one category
# c: 1 order (Apr 1), lapsed by the end of the year
# d: 1 order (Dec 20)
ORDERS = [
    ("a", "2026-01-10 10:00:00", 100.0, ["footwear"], ["shoes"]),
    ("a", "2026-02-09 10:00:00", 20.0, ["socks"], ["socks"]),
    ("a", "2026-12-01 10:00:00", 30.0, ["socks"], ["socks"]),
    ("b", "2026-03-01 00:00:00", 50.0, ["footwear"], ["shoes"]),
    ("b", "2026-03-21 00:00:00", 50.0, ["footwear"], ["shoes", "socks"]),
    ("c", "2026-04-01 12:00:00", 80.0, ["hats"], ["cap"]),
    ("d", "2026-12-20 12:00:00", 70.0, ["footwear"], ["shoes"]),
    ("e", "2027-01-05 12:00:00", 500.0, ["hats"], ["cap"]),  # after the period: unseen
]


def archive_orders(path, orders) -> None:
    """(customer, "YYYY-MM-DD HH:MM:SS" UTC, total, categories, products) as archived order rows."""
    write_archive(
        path,
        "orders",
        (
            {
                "customer_id": c,
                "order_id": f"o{i}",
                "placed_at": datetime.fromisoformat(t).replace(tzinfo=UTC),
                "total": total,
                "currency": "EUR",
                "categories": cats,
                "products": products,
            }
            for i, (c, t, total, cats, products) in enumerate(orders)
        ),
    )


@pytest.fixture
def archive(tmp_path):
    archive_orders(tmp_path, ORDERS)
    write_archive(
        tmp_path,
        "surveys",
        (
            {"customer_id": c, "score": s, "answered_at": datetime(2026, 5, d, tzinfo=UTC)}
            for c, s, d in [("a", 10, 1), ("b", 9, 2), ("c", 7, 3), ("d", 3, 4), ("e", 0, 5)]
        ),
    )
    return tmp_path


def test_business_kpis_match_the_hand_computed_values(archive):
    business = build_report(archive, AS_OF)["business"]
    assert (business["customers"], business["orders"], business["revenue"]) == (4, 7, 400.0)
    assert business["repeat_purchase_rate"] == 0.5  # a and b
    assert business["days_to_second_purchase"] == 25.0  # a: 30 days, b: 20 days
    assert business["average_order_value"] == pytest.approx(400 / 7, abs=1e-4)
    assert business["lifetime_value"] == 100.0  # 400 over 4 customers
    assert business["cross_sell_rate"] == 0.25  # only a bought in two categories
    assert business["churn_rate"] == 0.5  # b (285 days idle) and c (274 days): over 180


def test_nps_counts_promoters_passives_and_detractors(archive):
    nps = build_report(archive, AS_OF)["nps"]
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (2, 1, 2)
    assert nps["nps"] == 0.0  # (2 - 2) / 5


def test_segments_and_cohorts(archive):
    report = build_report(archive, AS_OF)
    # a: returning; b and c: over 180 days idle, lapsed; d: new (too few repeat buyers to fit: no VIPs)
    assert report["segments"]["lifecycle"] == {"lapsed": 2, "new": 1, "returning": 1}
    january = [row for row in report["cohort_retention"] if row["cohort"].startswith("2026-01")]
    assert [(row["months_later"], row["retained"]) for row in january] == [(1, 1.0), (11, 1.0)]


def test_an_earlier_end_of_observation_sees_less(archive):
    business = build_report(archive, datetime(2026, 3, 31, 23, 59, tzinfo=UTC))["business"]
    assert (business["customers"], business["orders"], business["churn_rate"]) == (2, 4, 0.0)


def test_by_default_orders_are_observed_to_the_last_order_and_messages_to_the_last_record(tmp_path):
    """A replay sends past its history's last order: a's 200 days from that tail would make them
    churned, and their age 200 days longer."""
    archive_orders(tmp_path, ORDERS[:2])  # a: Jan 10 and Feb 9
    message = {"journey": "win-back", "step": "we_miss_you", "channel": "email", "customer_id": "a"}
    write_archive(
        tmp_path,
        "messages",
        [{**message, "message_id": "m1", "status": "sent", "sent_at": datetime(2026, 8, 28, 9, tzinfo=UTC)}],
    )
    report = build_report(tmp_path)
    assert (report["as_of"], report["records_until"]) == ("2026-02-09", "2026-08-28")
    assert report["business"]["churn_rate"] == 0.0
    assert [row["sent"] for row in report["messages"]] == [1]  # the tail's message counted
    assert "counted to 2026-08-28" in format_report(report)


def repeat_buyers_csv(path, time: str = "", items: str = "shoes"):
    """60 customers with 1 to 4 monthly orders from January 2026 (the CLI's CSV)."""
    lines = ["customer_id,placed_at,total,items,categories"]
    for customer in range(60):
        for visit in range(1 + customer % 4):
            day = f"2026-0{1 + visit}-{1 + customer % 27:02d}"
            lines.append(f"c{customer},{day}{time},{20 + customer},{items},footwear")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_cli_reads_a_backtest_csv_and_gives_model_parameters_with_their_time_unit(tmp_path, capsys):
    history = repeat_buyers_csv(tmp_path / "orders.csv", "T10:00:00Z", "shoes;socks")
    assert main(["report", "--orders", str(history), "--as-of", "2026-06-30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == "2026-06-30"  # the whole day
    assert "Orders on one day are one purchase" in report["conventions"]
    assert report["business"]["customers"] == 60
    parameters = report["predicted_value"]["parameters"]
    assert parameters["time_unit"] == "days"
    assert set(parameters["bg_nbd"]) == {"r", "alpha", "a", "b"}
    assert set(parameters["gamma_gamma"]) == {"p", "q", "v"}


def test_message_rates_per_channel_journey_step_and_variant(tmp_path):
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    base = {"journey": "post-purchase", "step": "review_request", "channel": "email", "sent_at": at}
    messages = [
        {
            **base,
            "message_id": "m1",
            "customer_id": "a",
            "status": "sent",
            "delivered_at": at,
            "opened_at": at,
            "clicked_at": at,
        },
        {
            **base,
            "message_id": "m2",
            "customer_id": "b",
            "status": "sent",
            "delivered_at": at,
            "opened_at": at,
        },
        {
            **base,
            "message_id": "m3",
            "customer_id": "c",
            "status": "sent",
            "delivered_at": at,
            "unsubscribed_at": at,
        },
        {**base, "message_id": "m4", "customer_id": "d", "status": "failed", "reason": "permanent bounce"},
        {
            **base,
            "message_id": "m5",
            "customer_id": "e",
            "status": "suppressed",
            "reason": "email: unsubscribed",
        },
        {**base, "message_id": "m6", "customer_id": "f", "status": "sent", "channel": "sms"},
    ]
    write_archive(tmp_path, "messages", messages)
    write_archive(tmp_path, "orders", [{"customer_id": "a", "order_id": "o1", "placed_at": at, "total": 10}])
    rows = {row["channel"]: row for row in build_report(tmp_path, AS_OF)["messages"]}
    email = rows["email"]
    assert (email["sent"], email["suppressed"]) == (4, 1)  # the bounced one was sent
    assert (email["delivered_rate"], email["opened_rate"], email["clicked_rate"]) == (0.75, 0.5, 0.25)
    assert (email["unsubscribed_rate"], email["bounced_rate"], email["complained_rate"]) == (0.25, 0.25, 0.0)
    assert rows["sms"]["sent"] == 1


def win_back_test_archive(tmp_path):
    """A synthetic win-back with a known effect: 25% and 15% of customers buy again within 30 days
    after the two offers, 10% in the holdout."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    groups = {"ten_percent": (2000, 0.25), "free_shipping": (2000, 0.15), "holdout": (1000, 0.10)}
    assignments, orders = [], []
    for variant, (customers, rate) in groups.items():
        for i in range(customers):
            customer = f"{variant}-{i}"
            assignments.append(
                {
                    "customer_id": customer,
                    "journey": "win-back",
                    "experiment": "win-back.offer",
                    "variant": variant,
                    "assigned_at": start,
                }
            )
            orders.append(
                {
                    "customer_id": customer,
                    "order_id": f"{customer}-0",
                    "placed_at": start.replace(month=1),
                    "total": 40,
                }
            )
            if i < customers * rate:
                orders.append(
                    {
                        "customer_id": customer,
                        "order_id": f"{customer}-1",
                        "placed_at": start.replace(day=20),
                        "total": 60,
                    }
                )
            elif i < customers * rate + 50:  # bought, but after the 30-day window: not a conversion
                orders.append(
                    {
                        "customer_id": customer,
                        "order_id": f"{customer}-2",
                        "placed_at": start.replace(month=5),
                        "total": 60,
                    }
                )
    write_archive(tmp_path, "assignments", assignments)
    write_archive(tmp_path, "orders", orders)
    return tmp_path


def test_journey_uplift_against_the_holdout_and_the_ab_winner(tmp_path):
    win_back_test_archive(tmp_path)
    (journey,) = build_report(tmp_path, AS_OF)["journeys"]
    assert journey["holdout"]["conversion_rate"] == 0.1
    variants = {v["variant"]: v for v in journey["variants"]}
    assert variants["ten_percent"]["uplift"] == pytest.approx(0.15)
    assert variants["free_shipping"]["uplift"] == pytest.approx(0.05)
    assert variants["ten_percent"]["significant"] and variants["free_shipping"]["significant"]
    assert variants["ten_percent"]["revenue_per_customer"] == pytest.approx(0.25 * 60)
    assert journey["winner"] == "ten_percent"
    assert journey["against_holdout"].startswith("free_shipping, ten_percent converts more than the holdout")
    from postventa.analytics.report_html import write_html

    write_html(build_report(tmp_path, AS_OF), tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "<td>ten_percent</td><td>2000</td><td>25.0%</td><td>15.00</td>\n  <td>+15.0 pts</td>" in html
    assert "<strong>Against the holdout:</strong> free_shipping, ten_percent converts more" in html


@pytest.mark.parametrize(
    ("rates", "says"),
    [
        (
            {"ten_percent": 0.10, "free_shipping": 0.02},
            "the holdout converts more than free_shipping (significant)",
        ),
        ({"ten_percent": 0.095, "free_shipping": 0.09}, "no variant converts more than the holdout so far"),
        (
            {"ten_percent": 0.105, "free_shipping": 0.09},
            "no variant differs from the holdout significantly yet",
        ),
    ],
)
def test_the_report_says_in_words_when_the_holdout_keeps_up_or_wins(tmp_path, rates, says):
    groups = {variant: (2000, rate) for variant, rate in rates.items()} | {"holdout": (1000, 0.10)}
    rows = [
        {
            "journey": "win-back",
            "experiment": "win-back.offer",
            "variant": variant,
            "customers": n,
            "conversions": round(n * rate),
            "revenue": 0.0,
        }
        for variant, (n, rate) in groups.items()
    ]
    (journey,) = experiments(rows)
    assert journey["against_holdout"].startswith(says)


def test_the_scoring_summary_counts_purchase_days_ages_and_spend_by_hand(archive):
    from postventa.analytics.kpis import connect
    from postventa.analytics.queries import query_text

    rows = connect(archive).execute(query_text("summary", AS_OF)).fetchall()
    by_customer = {row[0]: row[1:] for row in rows}
    assert set(by_customer) == {"a", "b", "c", "d"}  # e ordered after the period
    x, t_x, age, repeat_mean, first, spend, products = by_customer["a"]
    # a: Jan 10, Feb 9, Dec 1 (10:00): two repeats, the last 325 days after the first
    assert (x, t_x, repeat_mean, first, spend) == (2, 325.0, 25.0, 100.0, 150.0)
    assert age == 355.0  # whole days, Jan 10 to Dec 31, the last day observed (queries.CONVENTIONS)
    assert set(products.split("|")) == {"shoes", "socks"}
    assert by_customer["c"][:2] == (0, 0.0)


def test_orders_on_one_day_are_one_purchase_in_the_kpis_as_in_the_models(tmp_path):
    """g splits one checkout into two orders (09:00 and 17:00): no repeat buyer, in the KPIs as in the
    models' summary; h orders on two days. Orders and their average still count every order."""
    from postventa.analytics.kpis import connect
    from postventa.analytics.queries import query_text

    orders = [("g", "2026-06-01 09:00:00", 40.0), ("g", "2026-06-01 17:00:00", 20.0)]
    orders += [("h", "2026-06-01 23:00:00", 30.0), ("h", "2026-06-11 01:00:00", 30.0)]
    archive_orders(tmp_path, [(c, t, total, [], ["mug"]) for c, t, total in orders])
    as_of = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
    report = build_report(tmp_path, as_of)
    business = report["business"]
    assert (business["customers"], business["orders"], business["revenue"]) == (2, 4, 120.0)
    assert business["repeat_purchase_rate"] == 0.5  # h only
    assert business["days_to_second_purchase"] == 10.0  # h: 1 to 11 June, by day
    assert business["average_order_value"] == 30.0  # 120 over 4 orders
    summary = {row[0]: row[1:4] for row in connect(tmp_path).execute(query_text("summary", as_of)).fetchall()}
    assert summary == {"g": (0, 0.0, 29.0), "h": (1, 10.0, 29.0)}  # x, t_x, T in whole days


def _cdnow_sample_archive(path):
    import gzip

    from tests.conftest import ROOT

    with gzip.open(ROOT / "events" / "analytics" / "cdnow-sample.txt.gz", "rt") as handle:
        purchases = [line.split() for line in handle if line.strip()]
    archive_orders(
        path,
        [
            (sample_id.lstrip("0"), f"{day[:4]}-{day[4:6]}-{day[6:]} 00:00:00", float(value), [], ["cd"])
            for _, sample_id, day, _, value in purchases
        ],
    )
    return purchases


def test_holdout_validation_on_cdnow_tracks_the_39_weeks_after_calibration_as_the_paper_does(tmp_path):
    """Fitted to 30 September 1997 (the paper's 39 weeks), checked over the next 39: the weekly
    series adds up the paper's model's predictions and the purchases counted from the raw file."""
    import numpy as np

    from postventa.analytics.report_html import write_html
    from postventa.analytics.value import BgNbd

    purchases = _cdnow_sample_archive(tmp_path)
    report = build_report(
        tmp_path, datetime(1998, 6, 30, 23, 59, 59, tzinfo=UTC), validate_from=date(1997, 10, 1)
    )
    check = report["validation"]
    weeks = check["weekly_cumulative_repeat_purchases"]
    assert (check["calibration_end"], check["holdout_end"], len(weeks)) == ("1997-09-30", "1998-06-30", 39)
    assert all(
        a["actual"] <= b["actual"] and a["predicted"] < b["predicted"] for a, b in itertools.pairwise(weeks)
    )
    # actual: each customer's purchase days after 30 September 1997, from the raw rows
    days = {(sample_id, day) for _, sample_id, day, _, _ in purchases if day > "19970930"}
    assert weeks[-1]["actual"] == check["actual_repeat_purchases"] == len(days)
    # predicted: the paper's parameters (weeks, in days here) give the same total
    rows = (
        connect(tmp_path).execute(query_text("summary", datetime(1997, 9, 30, 23, 59, tzinfo=UTC))).fetchall()
    )
    x, t_x, T = (np.array([float(row[k]) for row in rows]) for k in (1, 2, 3))
    paper = BgNbd(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
    assert check["predicted_repeat_purchases"] == pytest.approx(
        float(np.sum(paper.expected_purchases(273, x, t_x, T))), rel=2e-3
    )
    assert -0.2 < check["total_error"] < -0.05  # the model runs low on CDNOW's holdout, as published
    assert check["mean_absolute_error_per_customer"] < check["naive_mean_absolute_error_per_customer"]
    assert check["verdict"].endswith("Trust the predictions for this shop.")
    write_html(report, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert html.count("<polyline") == 2 and "Holdout validation" in html
    assert "bg_nbd fit: log-likelihood" in html
    # read later (a backtest's archive runs past its last order): the holdout still ends with the orders
    later = build_report(
        tmp_path, datetime(1998, 12, 31, 23, 59, 59, tzinfo=UTC), validate_from=date(1997, 10, 1)
    )
    assert later["validation"]["holdout_end"] == "1998-06-30"
    assert later["validation"]["weekly_cumulative_repeat_purchases"] == weeks


def test_the_convention_turns_the_cdnow_sample_into_the_published_summary_and_fit(tmp_path):
    """The 2,357-customer sample's purchases, archived as `postventa report` reads them, summarized
    as of 30 September 1997 (the 39 calibration weeks): every customer's x, t_x and T are the
    published ones (weeks, to their two decimals), and so the fit is the paper's."""
    import csv

    import numpy as np

    from postventa.analytics.value import fit_bgnbd
    from tests.conftest import ROOT

    cdnow = ROOT / "events" / "analytics"
    _cdnow_sample_archive(tmp_path)
    end = datetime(1997, 9, 30, 23, 59, 59, tzinfo=UTC)  # --as-of 1997-09-30: the whole day
    ours = {row[0]: row[1:4] for row in connect(tmp_path).execute(query_text("summary", end)).fetchall()}
    with (cdnow / "cdnow-summary.csv").open() as handle:
        published = {row["ID"]: row for row in csv.DictReader(handle)}
    assert len(ours) == len(published) == 2357
    for customer, (x, t_x, T) in ours.items():
        row = published[customer]
        assert (x, round(t_x / 7, 2), round(T / 7, 2)) == (
            int(row["frequency"]),
            float(row["recency"]),
            float(row["T"]),
        ), customer
    x, t_x, T = (np.array([float(v[k]) for v in ours.values()]) for k in range(3))
    fitted, _ = fit_bgnbd(x, t_x / 7, T / 7)
    assert (round(fitted.r, 3), round(fitted.alpha, 3), round(fitted.a, 3), round(fitted.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )


def test_the_cli_writes_every_customers_scores_over_the_horizon_asked(tmp_path, capsys):
    import csv

    history = repeat_buyers_csv(tmp_path / "orders.csv")
    scores = {}
    for horizon, name in ((90, "quarter.csv"), (365, "year.json")):
        out = tmp_path / name
        common = ["report", "--orders", str(history), "--as-of", "2026-06-30", "--json"]
        assert main([*common, "--customers", str(out), "--horizon", str(horizon)]) == 0
        capsys.readouterr()
        if out.suffix == ".csv":
            with out.open() as handle:
                rows = list(csv.DictReader(handle))
            assert list(rows[0]) == [
                "customer_id", "p_alive", "expected_purchases", "expected_spend", "predicted_value",
                "next_purchase_expected", "lifecycle", "rfm", "vip", "early_vip", "recommended",
            ]  # fmt: skip
        else:
            rows = json.loads(out.read_text())
        scores[horizon] = {row["customer_id"]: row for row in rows}
    assert len(scores[90]) == len(scores[365]) == 60
    c3 = scores[90]["c3"], scores[365]["c3"]  # four purchases a month apart, none since 4 April
    assert 0 < float(c3[0]["expected_purchases"]) < c3[1]["expected_purchases"]
    assert c3[1]["lifecycle"] == "returning" and c3[1]["p_alive"] < 0.5
    assert c3[1]["next_purchase_expected"] is None  # probably lapsed: no date promised
    c0 = scores[365]["c0"]  # one order, on 1 January: alive until seen otherwise, idle half a year
    assert (
        c0["p_alive"] == 1.0 and c0["lifecycle"] == "at_risk" and c0["next_purchase_expected"] > "2026-06-30"
    )


def test_the_text_report_shows_rates_as_percentages_money_in_full_and_says_why_a_section_is_empty(
    tmp_path, capsys
):
    from postventa.analytics.report import format_report
    from postventa.analytics.report_html import write_html

    _cdnow_sample_archive(tmp_path)  # no categories, one product: no rules
    report = build_report(tmp_path, datetime(1998, 6, 30, 23, 59, 59, tzinfo=UTC))
    text = format_report(report)
    assert "  revenue                                  244,091.94" in text  # not 2.441e+05
    assert "  repeat purchase rate                     48.3%" in text
    assert "cross-sell rate (2+ categories)          - (no categories in the data)" in text
    assert "none: no two products were bought together by enough customers" in text
    assert "the mean is not 1 - churn" in text  # mean P(alive) beside churn, explained
    write_html(report, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "None: no two products were bought together" in html
    assert (
        "<td>repeat purchase rate</td><td>48.3%</td>" in html
        and "<td>revenue</td><td>244,091.94</td>" in html
    )
    assert "customers with categories" not in html and "(the whole day, UTC)" in html


def test_an_order_within_the_click_window_is_the_revenue_of_the_last_message_clicked(tmp_path):
    def clicked(message_id, customer, step, day, recorded=None):
        at = datetime(2026, 3, day, 10, tzinfo=UTC)
        return {
            "message_id": message_id,
            "customer_id": customer,
            "journey": "post-purchase" if step != "we_miss_you" else "win-back",
            "step": step,
            "channel": "email",
            "status": "sent",
            "sent_at": at,
            "clicked_at": at,
            "recorded_at": recorded or at,
        }

    write_archive(
        tmp_path,
        "messages",
        [
            clicked("m1", "a", "review_request", 1),
            clicked("m2", "a", "we_miss_you", 3),  # a's later click: a's order is its
            clicked("m3", "b", "review_request", 1),
            clicked("m3", "b", "review_request", 1, datetime(2026, 3, 2, tzinfo=UTC)),  # archived twice
            clicked("m4", "c", "review_request", 1),
        ],
    )
    order = {"placed_at": datetime(2026, 3, 5, 12, tzinfo=UTC)}
    write_archive(
        tmp_path,
        "orders",
        [
            {**order, "customer_id": "a", "order_id": "oa", "total": 50.0},
            {**order, "customer_id": "b", "order_id": "ob", "total": 30.0},
            {
                **order,
                "customer_id": "c",
                "order_id": "oc",
                "total": 20.0,
                "placed_at": datetime(2026, 3, 9, tzinfo=UTC),
            },
        ],
    )
    report = build_report(tmp_path)
    assert report["clicked_revenue"] == {
        "window_days": 5,
        "steps": [
            {
                "journey": "post-purchase",
                "step": "review_request",
                "channel": "email",
                "orders": 1,
                "revenue": 30.0,
            },
            {"journey": "win-back", "step": "we_miss_you", "channel": "email", "orders": 1, "revenue": 50.0},
        ],
    }  # c ordered 7 days and 14 hours after the click: outside the window
    wider = build_report(tmp_path, click_days=8)["clicked_revenue"]["steps"]
    assert [(row["step"], row["orders"], row["revenue"]) for row in wider] == [
        ("review_request", 2, 50.0),
        ("we_miss_you", 1, 50.0),
    ]
    assert "post-purchase / review_request / email" in format_report(report)
