"""Browser journeys, in English and in Russian: real people (the demo's logins) in Chromium
against a live server, through the pages only. Outcomes are checked in the database, in
amounts formatted for the reader, in the pages reached; no page may log a console error or
answer 4xx/5xx. Each journey saves screenshots of its main pages under var/screenshots/
(or $BROWSER_SCREENSHOTS), one folder per journey and language."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from catalog import selectors as catalog_selectors
from catalog.models import Product
from disputes import selectors
from disputes.models import Dispute, Inspection, Refund
from disputes.services import dispute_open, dispute_send_instructions, dispute_ship
from disputes.services.answers import return_warehouses_for
from disputes.tests.factories import PNG
from orders.models import Order
from returns_portal.money import format_money

from .support import LANGUAGES, path_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EARBUDS = "Wireless earbuds Pro"  # the demo's: Golden Dragon, local return, return centre in Moscow


def person(username: str) -> User:
    return User.objects.get(username=username)


def dispute_url(dispute: Dispute) -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk])


def action_form(dispute: Dispute, verb: str) -> str:
    return f'form[action="{reverse("disputes:dispute_action", args=[dispute.pk, verb])}"]'


def money(amount: Decimal, currency: str, lang: str) -> str:
    with translation.override(lang):
        return format_money(amount, currency)


def in_language(lang: str, messages) -> list[str]:
    """The reasons as the page shows them: worded in ``lang`` (``messages`` is called under it)."""
    with translation.override(lang):
        return [str(message) for message in messages()]


def shown_products(page) -> set[int]:
    hrefs = page.locator("main .grid a[href^='/products/']").evaluate_all("links => links.map(a => a.pathname)")
    return {int(href.strip("/").split("/")[1]) for href in hrefs}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_buyer_in_russia_returns_goods_locally_and_sees_the_refund(portal, lang):
    earbuds = Product.objects.get(title=EARBUDS)
    buyer, seller = portal.visitor("buyer_ru"), portal.visitor("seller")

    # The catalog, filtered to goods with local return.
    buyer.check("#id_local_return")
    portal.submit(buyer, "form[role=search]", lands_on="/")
    assert "local_return=on" in buyer.url
    assert shown_products(buyer) == set(
        catalog_selectors.products_for_catalog(local_return_only=True, country="RU").values_list("pk", flat=True))
    assert earbuds.pk in shown_products(buyer)
    portal.shot(buyer, "catalog-local-return")

    # The product page says local return is available here; the buyer buys one.
    portal.follow(buyer, earbuds.get_absolute_url())
    assert buyer.locator("[data-local-return]").get_attribute("data-local-return") == "available"
    portal.shot(buyer, "product")
    buyer.fill("input[name=quantity]", "1")
    portal.submit(buyer, f'form[action="{reverse("orders:buy_now", args=[earbuds.pk])}"]')
    order = Order.objects.filter(buyer=person("buyer_ru")).latest("pk")
    assert path_of(buyer) == order.get_absolute_url()
    assert (order.status, order.total, order.delivery_country) == (Order.Status.PAID, earbuds.price, "RU")
    line = order.lines.get()

    # The seller ships it; the buyer confirms receipt.
    portal.goto(seller, reverse("orders:seller_order_list"))
    seller.fill(f"#tracking-{order.pk}", "RR123456785CN")
    portal.submit(seller, f'form[action="{reverse("orders:seller_order_ship", args=[order.pk])}"]')
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    portal.goto(buyer, order.get_absolute_url())
    portal.submit(buyer, f'form[action="{reverse("orders:confirm_delivery", args=[order.pk])}"]',
                  lands_on=order.get_absolute_url())
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED and order.protection_open
    portal.shot(buyer, "order-received")

    # My orders → open a dispute on the line: a local return, the amount paid, no proof.
    portal.goto(buyer, reverse("orders:order_list"))
    portal.follow(buyer, reverse("disputes:dispute_open", args=[line.pk]))
    assert buyer.locator("input[name=kind][value=return]").is_checked()
    local = buyer.locator("input[name=route][value=local]")
    assert local.is_enabled() and local.is_checked()
    buyer.select_option("select[name=reason]", "not_as_expected")
    buyer.fill("textarea[name=description]", "Too big for my ears.")
    portal.shot(buyer, "opening-form")
    portal.submit(buyer, "form:has([name=kind])")
    dispute = Dispute.objects.get(order_line=line)
    assert path_of(buyer) == dispute_url(dispute)
    assert (dispute.state, dispute.kind, dispute.route) == (
        Dispute.State.AWAITING_SELLER, Dispute.Kind.RETURN, Dispute.Route.LOCAL)
    assert dispute.amount == line.line_total and not dispute.attachments.exists()
    assert buyer.locator("h1[data-state]").get_attribute("data-state") == Dispute.State.AWAITING_SELLER
    portal.shot(buyer, "dispute-opened")

    # The seller sends return instructions (the form starts from the store's return centre).
    portal.goto(seller, reverse("disputes:seller_desk"))
    portal.shot(seller, "seller-desk")
    portal.follow(seller, dispute_url(dispute))
    portal.shot(seller, "seller-instructions-form")
    portal.submit(seller, action_form(dispute, "instructions"), lands_on=dispute_url(dispute))
    dispute.refresh_from_db()
    instructions = dispute.instructions
    assert dispute.state == Dispute.State.AWAITING_BUYER_SHIPMENT
    assert (instructions.warehouse.country, instructions.warehouse.accepts_returns) == ("RU", True)

    # The buyer prints the return slip, then enters the tracking number.
    portal.goto(buyer, dispute_url(dispute))
    slip_url = reverse("disputes:return_slip", args=[dispute.pk])
    with buyer.context.expect_page() as opened:
        buyer.locator(f'a[href="{slip_url}"]').click()
    slip = opened.value
    slip.wait_for_load_state()
    portal.check_page(slip)
    assert path_of(slip) == slip_url
    assert instructions.rma_code in slip.locator("main").inner_text()
    slip.emulate_media(media="print")
    assert slip.locator(".noprint").is_hidden()
    portal.shot(slip, "return-slip-printed")
    slip.pdf(path=str(portal.shots_dir / "return-slip.pdf"))
    slip.close()
    assert buyer.locator(action_form(dispute, "ship")).locator("[name=carrier]").input_value() == instructions.carrier
    buyer.fill(f'{action_form(dispute, "ship")} [name=tracking_number]', "RA123456789RU")
    portal.submit(buyer, action_form(dispute, "ship"), lands_on=dispute_url(dispute))
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.RETURN_IN_TRANSIT
    assert dispute.shipment.tracking_number == "RA123456789RU"

    # The seller inspects the goods: every condition met.
    portal.goto(seller, dispute_url(dispute))
    inspect = action_form(dispute, "inspect")
    codes = selectors.enabled_condition_codes(earbuds.category)
    for code in codes:
        seller.check(f"{inspect} input[name=answer_{code}][value=meets]")
    portal.shot(seller, "seller-inspection")
    portal.submit(seller, inspect, lands_on=dispute_url(dispute))
    dispute.refresh_from_db()
    assert dispute.inspection.outcome == Inspection.Outcome.ACCEPTED
    assert dispute.inspection.answers == {code: "meets" for code in codes}
    refund = Refund.objects.get(dispute=dispute)
    assert (dispute.state, refund.status, refund.amount) == (Dispute.State.REFUNDED, Refund.Status.PAID,
                                                             line.line_total)

    # The buyer sees the refund, paid, in the amount asked, in their language's format.
    portal.goto(buyer, dispute_url(dispute))
    assert buyer.locator("h1[data-state]").get_attribute("data-state") == Dispute.State.REFUNDED
    paid = buyer.locator('[data-refund="paid"]')
    assert money(line.line_total, order.currency, lang) in paid.inner_text()
    portal.shot(buyer, "refunded")
    buyer.locator(f'header a[href="{reverse("notifications:list")}"]').click()
    buyer.wait_for_load_state()
    assert buyer.locator(f'main a[href="{dispute_url(dispute)}"]').count() >= 1
    portal.shot(buyer, "notifications")
    portal.assert_no_problems()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_buyer_in_ukraine_is_told_why_there_is_no_local_return_and_returns_it_abroad_with_a_photo(portal, lang):
    earbuds = Product.objects.get(title=EARBUDS)
    buyer_ua = person("buyer_ua")
    line = Order.objects.get(number="DEMO-2001").lines.get()  # the demo's earbuds, delivered in Ukraine
    buyer = portal.visitor("buyer_ua")

    # The product page: not available in Ukraine, and why, in the reader's language.
    portal.goto(buyer, earbuds.get_absolute_url())
    panel = buyer.locator("[data-local-return]")
    assert panel.get_attribute("data-local-return") == "unavailable"
    reasons = in_language(lang, lambda: catalog_selectors.local_return_availability(earbuds, "UA").messages)
    assert reasons and panel.locator("li").all_inner_texts() == reasons
    portal.shot(buyer, "product-no-local-return")

    # The opening form: local return cannot be chosen, the reasons sit beside it.
    portal.goto(buyer, reverse("orders:order_list"))
    portal.follow(buyer, reverse("disputes:dispute_open", args=[line.pk]))
    local = buyer.locator("input[name=route][value=local]")
    assert local.is_disabled()
    assert local.get_attribute("aria-describedby") == "local-return-reasons"
    assert buyer.locator("#local-return-reasons li").all_inner_texts() == in_language(
        lang, lambda: selectors.opening_options(buyer=buyer_ua, line=line).local_return.messages)
    assert buyer.locator("input[name=route][value=international]").is_checked()

    # An international return with a photo.
    buyer.select_option("select[name=reason]", "damaged")
    buyer.fill("textarea[name=description]", "The left earbud does not charge.")
    buyer.set_input_files("input[name=evidence]",
                          files=[{"name": "earbud.png", "mimeType": "image/png", "buffer": PNG}])
    portal.shot(buyer, "opening-form-international")
    portal.submit(buyer, "form:has([name=kind])")
    dispute = Dispute.objects.get(order_line=line)
    assert path_of(buyer) == dispute_url(dispute)
    assert (dispute.state, dispute.kind, dispute.route, dispute.amount) == (
        Dispute.State.AWAITING_SELLER, Dispute.Kind.RETURN, Dispute.Route.INTERNATIONAL, line.line_total)
    photo = dispute.attachments.get()
    assert (photo.content_type, photo.uploaded_by) == ("image/png", buyer_ua)

    # The dispute page shows the photo, served to its owner through the private file view.
    thumbnail = buyer.locator(f'img[src="{photo.get_absolute_url()}"]')
    thumbnail.scroll_into_view_if_needed()
    buyer.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    portal.shot(buyer, "dispute-with-photo")

    # The seller finds it on the desk, sees the photo and every answer the lifecycle offers.
    seller = portal.visitor("seller")
    portal.goto(seller, reverse("disputes:seller_desk"))
    portal.follow(seller, dispute_url(dispute))
    for verb in ("instructions", "accept", "counter-offer", "reject"):
        assert seller.locator(action_form(dispute, verb)).count() == 1, verb
    thumbnail = seller.locator(f'img[src="{photo.get_absolute_url()}"]')
    thumbnail.scroll_into_view_if_needed()
    seller.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    portal.shot(seller, "seller-sees-the-photo")
    portal.assert_no_problems()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_rejection_after_inspection_is_escalated_and_decided_by_staff_in_the_admin(portal, lang):
    # Given a local return of the demo's earbuds on its way back to the seller.
    buyer_ru, seller_user = person("buyer_ru"), person("seller")
    line = Order.objects.get(number="DEMO-1001").lines.get()
    dispute = dispute_open(buyer=buyer_ru, order_line=line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                           amount=line.line_total, reason=Dispute.Reason.CHANGED_MIND)
    dispute_send_instructions(dispute=dispute, seller=seller_user, warehouse=return_warehouses_for(dispute).first(),
                              method="drop_off", carrier="Russian Post")
    dispute_ship(dispute=dispute, buyer=buyer_ru, carrier="Russian Post", tracking_number="RA987654321RU")
    buyer, seller, staff = portal.visitor("buyer_ru"), portal.visitor("seller"), portal.visitor("staff", admin=True)

    # The seller finds signs of use, with a note and a photo: rejected.
    portal.goto(seller, dispute_url(dispute))
    inspect = action_form(dispute, "inspect")
    codes = selectors.enabled_condition_codes(line.product.category)
    for code in codes:
        seller.check(f"{inspect} input[name=answer_{code}][value={'fails' if code == 'signs_of_use' else 'meets'}]")
    seller.fill(f"{inspect} input[name=note_signs_of_use]", "Scratches on the charging case.")
    seller.set_input_files(f"{inspect} input[name=photos]",
                           files=[{"name": "case.png", "mimeType": "image/png", "buffer": PNG}])
    portal.shot(seller, "seller-inspection-fails")
    portal.submit(seller, inspect, lands_on=dispute_url(dispute))
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.REJECTED
    assert dispute.inspection.outcome == Inspection.Outcome.REJECTED
    assert dispute.inspection.photos.count() == 1

    # The buyer sees which condition failed, with the inspector's note, and escalates.
    portal.goto(buyer, dispute_url(dispute))
    failed = buyer.locator("[data-condition]")
    assert [(item.get_attribute("data-condition"), item.get_attribute("data-outcome")) for item in failed.all()] == [
        ("signs_of_use", "fail")]
    assert "Scratches on the charging case." in failed.inner_text()
    portal.shot(buyer, "rejected-after-inspection")
    buyer.fill(f'{action_form(dispute, "escalate")} [name=reason]', "The case was scratched when it arrived.")
    portal.submit(buyer, action_form(dispute, "escalate"), lands_on=dispute_url(dispute))
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.ESCALATED

    # Staff decide in the admin: a full refund.
    portal.shot(staff, "admin-index")
    change = reverse("admin:disputes_dispute_change", args=[dispute.pk])
    decide = reverse("admin:disputes_dispute_decide", args=[dispute.pk])
    portal.goto(staff, change)
    portal.shot(staff, "admin-dispute")
    with staff.expect_navigation(wait_until="load"):
        staff.locator(f'a[href="{decide}"]').click()
    portal.check_page(staff)
    staff.check("input[name=decision][value=refund_full]")
    staff.fill("textarea[name=reason]", "The courier's photos show the case scratched before delivery.")
    portal.shot(staff, "admin-decide")
    portal.submit(staff, "#content-main form", lands_on=change)
    dispute.refresh_from_db()
    refund = Refund.objects.get(dispute=dispute)
    assert (dispute.state, refund.status, refund.amount, refund.decided_by) == (
        Dispute.State.REFUNDED, Refund.Status.PAID, line.line_total, person("staff"))
    portal.shot(staff, "admin-decided")

    # The buyer sees the refund.
    portal.goto(buyer, dispute_url(dispute))
    assert buyer.locator("h1[data-state]").get_attribute("data-state") == Dispute.State.REFUNDED
    assert money(line.line_total, line.order.currency, lang) in buyer.locator('[data-refund="paid"]').inner_text()
    portal.shot(buyer, "refunded-by-staff")
    portal.assert_no_problems()
