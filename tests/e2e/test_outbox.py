"""The outbox: every message of a local run as it was handed to its provider, as files."""

from __future__ import annotations

import contextlib
import io
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from postventa.cli import main
from tests.conftest import SHOP

MAYA = SHOP / "previews" / "third-order.json"


@pytest.fixture(scope="module")
def demo_outbox(tmp_path_factory) -> tuple[Path, str]:
    """The demo's run (once for the module): its outbox folder and what it printed."""
    folder = tmp_path_factory.mktemp("outbox")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["simulate", "--outbox", str(folder)]) == 0
    return folder, printed.getvalue()


def read_eml(path: Path):
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def test_one_file_per_message_sent_named_by_customer_journey_and_step(demo_outbox):
    folder, timeline = demo_outbox
    sent = [line for line in timeline.splitlines() if "  sent  " in line]
    files = sorted(path.name for path in folder.iterdir())
    # every message handed to a provider: those the timeline shows sent, and Jun's text the
    # carrier then refused
    assert (len(files), len(sent)) == (63, 62)
    assert "20260302-1600-cus-jun-post-purchase-order_confirmation.json" in files
    assert "20260302-0915-cus-ana-post-purchase-order_confirmation.eml" in files
    assert f"Outbox: {len(files)} messages as handed to the providers, in {folder}" in timeline


def test_a_marketing_email_is_the_mime_message_ses_sends_with_its_one_click_unsubscribe(demo_outbox):
    folder, _ = demo_outbox
    mail = read_eml(folder / "20260307-0830-cus-ana-post-purchase-product_tips.eml")
    assert mail["To"] == "ana@example.com"
    assert mail["From"] == "Postventa Demo Shop <orders@shop.example>"
    assert mail["Subject"] == "Saca el máximo partido a tu Trail running shoes"  # her locale is es
    assert mail["Date"] == "Sat, 07 Mar 2026 08:30:00 +0000"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://shop.example/postventa/unsubscribe?t=") and unsubscribe.endswith(
        ">"
    )
    assert unsubscribe[1:-1] in text.get_content()  # the same signed link as the footer's
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["X-SES-CONFIGURATION-SET"] == "postventa"
    tags = dict(tag.split("=", 1) for tag in mail["X-SES-MESSAGE-TAGS"].split(", "))
    assert {key: tags[key] for key in ("journey", "step", "customer")} == {
        "journey": "post-purchase",
        "step": "product_tips",
        "customer": "cus-ana",
    }


def test_a_receipt_carries_no_unsubscribe_header(demo_outbox):
    folder, _ = demo_outbox
    mail = read_eml(folder / "20260302-0915-cus-ana-post-purchase-order_confirmation.eml")
    assert mail["List-Unsubscribe"] is None
    assert "X-SES-MESSAGE-TAGS" in mail


def test_an_sms_is_the_publish_request_with_its_segments(demo_outbox):
    folder, _ = demo_outbox
    sms = json.loads((folder / "20260302-1700-cus-fran-post-purchase-order_confirmation.json").read_text())
    assert sms["to"] == "+14155550134"
    assert sms["sms_type"] == "Transactional"
    assert (sms["encoding"], sms["segments"]) == ("GSM-7", 1)
    assert sms["text"].startswith("Postventa Demo Shop: thank you for your order #5001, Fran!")
    assert sms["request"]["Message"] == sms["text"]


def test_a_push_is_the_pinpoint_message_request(demo_outbox):
    folder, _ = demo_outbox
    push = json.loads((folder / "20260312-0925-cus-gus-cross-sell-cross_sell.json").read_text())
    assert push["channel"] == "push"
    assert push["request"]["Context"]["step"] == "cross_sell"
    assert push["request"]["MessageConfiguration"]["APNSMessage"]["Priority"] == "normal"  # marketing
    assert push["title"] == push["request"]["MessageConfiguration"]["APNSMessage"]["Title"]


def test_preview_of_the_shops_journey_writes_its_emails(tmp_path, capsys):
    folder = tmp_path / "outbox"
    command = ["journeys", "preview", "vip-thanks", "--customer", str(MAYA), "--journeys", str(SHOP)]
    assert main([*command, "--outbox", str(folder)]) == 0
    names = sorted(path.name for path in folder.iterdir())
    assert names[0] == "20261121-1613-preview-maya-vip-thanks-vip_thanks.eml"
    assert len(names) == 2  # the thank-you, then her variant's perk
    assert read_eml(folder / names[0])["Subject"] == "Three orders, Maya: thank you"
    assert "Outbox: 2 messages" in capsys.readouterr().out


def test_an_outbox_replaces_its_last_run_and_refuses_other_files(tmp_path, capsys):
    folder = tmp_path / "outbox"
    command = ["journeys", "preview", "vip-thanks", "--customer", str(MAYA), "--journeys", str(SHOP)]
    assert main([*command, "--outbox", str(folder)]) == 0
    assert main([*command, "--outbox", str(folder)]) == 0
    assert len(list(folder.iterdir())) == 2
    (folder / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main([*command, "--outbox", str(folder)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{folder} holds files an outbox did not write (notes.txt): give a new folder"
    )
    assert (folder / "notes.txt").read_text() == "mine"


def test_templates_render_writes_each_channels_sample_beside_the_others(tmp_path, capsys):
    folder = tmp_path / "samples"
    for channel in ("email", "sms", "push"):
        command = ["templates", "render", "cross_sell", "--channel", channel, "--locale", "es", "--marketing"]
        assert main([*command, "--outbox", str(folder)]) == 0
    assert sorted(path.name for path in folder.iterdir()) == [
        "20261120-1830-sample-customer-sample-cross_sell-email-es.eml",
        "20261120-1830-sample-customer-sample-cross_sell-push-es.json",
        "20261120-1830-sample-customer-sample-cross_sell-sms-es.json",
    ]
    mail = read_eml(folder / "20261120-1830-sample-customer-sample-cross_sell-email-es.eml")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sms = json.loads((folder / "20261120-1830-sample-customer-sample-cross_sell-sms-es.json").read_text())
    assert sms["segments"] >= 1 and sms["sms_type"] == "Promotional"
