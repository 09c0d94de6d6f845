"""A shop's own folder of journeys and templates, outside the package, through every CLI command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from postventa.cli import main
from tests.conftest import SHOP, within_spread  # the starter, a welcome subject and a Spanish copy added

MAYA = SHOP / "previews" / "third-order.json"  # her third order, 18:30 in Chicago on 20 November


def test_init_writes_a_starter_that_validates(tmp_path, capsys):
    folder = tmp_path / "shop"
    assert main(["init", str(folder)]) == 0
    assert f"Next: postventa journeys validate --journeys {folder}" in capsys.readouterr().out
    assert (folder / "journeys" / "vip-thanks.yaml").is_file()

    assert main(["journeys", "validate", "--journeys", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "ok  vip-thanks v1" in out
    assert "ok  post-purchase v" in out  # the defaults are kept beside it


def test_init_refuses_a_folder_that_holds_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert f"{tmp_path} is not empty: give a new folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_journey_of_the_shop_is_found_only_with_its_folder(capsys):
    assert main(["journeys", "render", "vip-thanks"]) == 1
    assert "no journey 'vip-thanks'" in capsys.readouterr().err

    assert main(["journeys", "render", "vip-thanks", "--journeys", str(SHOP)]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart")
    assert "perk_early_access" in mermaid


def test_the_folder_can_come_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("POSTVENTA_JOURNEYS_DIR", str(SHOP))
    assert main(["journeys", "render", "vip-thanks"]) == 0
    assert "vip_thanks" in capsys.readouterr().out


def test_a_shop_keeping_no_defaults_validates_only_its_own(tmp_path, capsys):
    assert main(["init", str(tmp_path / "shop")]) == 0
    (tmp_path / "shop" / "postventa.yaml").write_text("defaults: none\ntopics: [perks]\n")
    capsys.readouterr()
    assert main(["journeys", "validate", "--journeys", str(tmp_path / "shop")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("ok")] == [
        "ok  returning-thanks v3: 2 steps",  # the starter's, in place of the default
        "ok  vip-thanks v1: 7 steps",
    ]
    # the defaults' Spanish folders stay: the starter's English copy is what Spanish customers get
    assert (
        f"note: {tmp_path}/shop/journeys/vip-thanks.yaml: step perk_gift: email in es falls back to en"
        in ("\n".join(out))
    )


def test_validate_names_every_mistake_in_the_shops_journey_and_fails(tmp_path, capsys):
    assert main(["init", str(tmp_path / "shop")]) == 0
    journey = tmp_path / "shop" / "journeys" / "vip-thanks.yaml"
    text = journey.read_text().replace("customer.orders_count", "custmer.orders_count")
    journey.write_text(
        text.replace("template: vip_perk_gift", "template: vip_perk_gfit").replace("perks}", "perk}", 1)
    )
    capsys.readouterr()
    assert main(["journeys", "validate", "--journeys", str(tmp_path / "shop")]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{journey}: trigger, condition 1: unknown field custmer.orders_count; did you mean customer.orders_count?",
        f"{journey}: step perk_free_shipping: unknown topic perk; did you mean perks? (topics: news, offers, "
        "reviews, surveys, tips, perks; a shop adds its own in postventa.yaml)",
        f"{journey}: step perk_gift: no email template vip_perk_gfit in templates/email/en; did you mean "
        "vip_perk_gift?",
    ]
    assert "ok  " not in out


def test_a_default_kept_by_a_misspelt_name_is_refused(tmp_path, capsys):
    (tmp_path / "postventa.yaml").write_text("defaults: [post-purchase, welcom]\n")
    assert main(["journeys", "validate", "--journeys", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}/postventa.yaml: defaults: no default journey 'welcom'; there are: " in err


def test_preview_of_the_shops_journey_uses_its_templates_and_earlier_orders(capsys):
    assert main(["journeys", "preview", "vip-thanks", "--customer", str(MAYA), "--journeys", str(SHOP)]) == 0
    out = capsys.readouterr().out
    # next morning at 10:00 Chicago time, in her slot of the hour; her third order by count
    assert "2026-11-21 16:13  preview-maya" in out
    assert "Three orders, Maya: thank you" in out
    assert "2026-11-28 16:13  preview-maya" in out  # a week later: the perk her variant gets


def test_simulate_reads_the_shops_template_over_the_default(capsys):
    assert main(["simulate", "--journeys", str(SHOP)]) == 0
    assert (
        "Welcome to the club" in capsys.readouterr().out
    )  # events/shop/templates/email/en/welcome.subject.txt


def test_backtest_replays_the_shops_journey_beside_the_defaults(tmp_path, capsys):
    history = tmp_path / "orders.csv"
    rows = ["customer_id,placed_at,total,order_id,currency,email,items,categories"]
    rows += [
        f"c1,2026-0{month}-10T15:00:00Z,80,o{month},USD,c1@example.com,Jacket,apparel" for month in (3, 5, 7)
    ]
    rows += ["c2,2026-04-02T15:00:00Z,30,o9,USD,c2@example.com,Socks,apparel"]
    history.write_text("\n".join(rows) + "\n")
    command = [
        "backtest",
        "--orders",
        str(history),
        "--json",
        "--quiet",
        "--workers",
        "1",
        "--journeys",
        str(SHOP),
    ]
    assert main(command) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["journeys"]["vip-thanks"]["entries"] == 1  # c1's third order, and no one else's
    sent = {(s["journey"], s["step"]): s["messages"] for s in report["steps"] if s["outcome"] == "sent"}
    assert sent[("vip-thanks", "vip_thanks")] == 1
    # the shop's returning-thanks thanks the second order and leaves the third to vip-thanks
    assert sent[("returning-thanks", "returning_thanks")] == 1
    assert report["journeys"]["returning-thanks"]["entries"] == 1
    assert report["journeys"]["post-purchase"]["entries"] == 4  # the defaults run beside them


def test_backtest_on_aws_refuses_a_folder_the_stack_did_not_deploy(capsys):
    assert main(["backtest", "--orders", "s3://bucket/orders.csv", "--on-aws", "--journeys", str(SHOP)]) == 1
    assert (
        "--on-aws replays the journeys the stack deployed: deploy the folder first" in capsys.readouterr().err
    )


def third_orders(tmp_path, customers: int = 12):
    """Customers who each order three times: the third order starts vip-thanks."""
    rows = ["customer_id,placed_at,total"]
    rows += [f"c{n},2026-0{month}-{10 + n}T15:00:00Z,80" for n in range(customers) for month in (3, 5, 7)]
    history = tmp_path / "orders.csv"
    history.write_text("\n".join(rows) + "\n")
    return history


def test_the_collision_check_names_the_step_and_the_journey_that_took_its_place(tmp_path, capsys):
    shop = tmp_path / "shop"
    assert main(["init", str(shop)]) == 0
    (shop / "journeys" / "returning-thanks.yaml").unlink()  # the default thanks the third order too
    history = third_orders(tmp_path)
    capsys.readouterr()
    assert (
        main(["journeys", "validate", "--journeys", str(shop), "--collisions", "--orders", str(history)]) == 1
    )
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"Replaying 36 orders of {history} to find collisions",
        "collision: vip-thanks, step vip_thanks: 12 of 12 messages (100%) dropped by the contact policy "
        "(frequency cap: 1 marketing a day 12); their place taken by returning-thanks 12",
    ]
    assert "ok  " not in out


def test_the_starter_leaves_the_third_order_to_vip_thanks(tmp_path, capsys):
    shop = tmp_path / "shop"
    assert main(["init", str(shop)]) == 0
    history = third_orders(tmp_path)
    assert (
        main(["journeys", "validate", "--journeys", str(shop), "--collisions", "--orders", str(history)]) == 0
    )
    out, err = capsys.readouterr()
    assert "collision:" not in err
    assert "ok  returning-thanks v3: 2 steps" in out


def test_the_shops_event_and_customer_attributes_reach_conditions_and_templates(tmp_path, capsys):
    from postventa.journeys.library import Library
    from postventa.local.simulate import read_events, run_simulation

    events = SHOP / "events" / "loyalty.json"
    result = run_simulation(read_events(events), library=Library(SHOP), outbox=tmp_path / "outbox")
    sent = [e for e in result.timeline if e.kind == "message" and e.journey == "points-expiring"]
    # Rosa, gold, 420 points expiring on 31 May: reminded a week before at 10:00 in Madrid.
    assert [(e.customer_id, e.subject) for e in sent] == [
        ("cus-rosa", "Your 420 points expire on May 31, 2026")
    ]
    assert within_spread(sent[0].at, datetime(2026, 5, 24, 8, 0, tzinfo=UTC))
    (mail,) = [path for path in result.outbox if "points_reminder" in path.name]
    text = mail.read_text()
    assert "As a gold member you have 420 points" in text
    assert "a treat for Pimienta" in text
    # Sam's 40 points are below the journey's condition: he never entered.
    assert not [e for e in result.timeline if e.customer_id == "cus-sam" and e.journey == "points-expiring"]
    # An attribute the shop never declared: the event waits in the dead-letter queue, saying why.
    (invalid,) = [e.reason for e in result.timeline if e.outcome == "invalid"]
    assert invalid == (
        "detail.customer.attributes.shoe_size: Extra inputs are not permitted "
        "(as customer_attributes are declared in postventa.yaml)"
    )
