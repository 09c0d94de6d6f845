"""postventa journeys preview: one customer through one journey."""

from __future__ import annotations

from postventa.cli import main
from tests.conftest import EVENTS

CUSTOMER = EVENTS / "preview-customer.json"  # Lucía, Mexico City, order at 18:30 local on 20 November


def test_preview_shows_one_customers_post_purchase_timeline_in_utc(capsys):
    assert main(["journeys", "preview", "post-purchase", "--customer", str(CUSTOMER)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-21 00:30  preview-lucia         post-purchase   order_confirmation" in out  # 18:30 -06:00
    assert "Gracias por tu pedido #5001, Lucía" in out  # her locale is es-MX: the Spanish templates
    assert "review_request_resend" in out  # nobody opens in a preview
    assert "welcome" not in out  # only the journey asked for


def test_preview_of_a_birthday_journey_lands_in_her_slot_of_the_9am_local_hour(capsys):
    assert main(["journeys", "preview", "birthday", "--customer", str(CUSTOMER)]) == 0
    assert (  # 09:45 in Mexico City (UTC-6): her five minutes of the hour
        "2026-11-30 15:45  preview-lucia         birthday        birthday_greeting" in capsys.readouterr().out
    )


def test_preview_explains_what_the_file_lacks(tmp_path, capsys):
    path = tmp_path / "no-birthday.json"
    path.write_text('{"customer": {"id": "x", "email": "x@example.com"}}')
    assert main(["journeys", "preview", "birthday", "--customer", str(path)]) == 1
    assert "a birthday journey needs customer.birthday" in capsys.readouterr().err


RESTOCK = EVENTS / "preview-restock.json"  # Lucía, and the Back In Stock event she asked for


def test_preview_plays_a_journey_on_an_event_of_the_shops_own_from_the_files_events(capsys):
    assert main(["journeys", "preview", "back-in-stock", "--customer", str(RESTOCK)]) == 0
    out = capsys.readouterr().out
    assert (
        "2026-03-04 08:30  preview-lucia         back-in-stock   back_in_stock             email      sent"
        in out
    )
    assert "Gooseneck kettle vuelve a estar disponible" in out
    # A journey on an event the file does not hold says so, rather than playing nothing.
    assert main(["journeys", "preview", "browse-abandonment", "--customer", str(RESTOCK)]) == 1
    assert "browse-abandonment starts on Product Viewed: put one in the customer file's events" in (
        capsys.readouterr().err
    )
