"""Accessibility in the browser: axe-core on the catalog, the product page, the opening form,
the dispute page of the buyer and of the seller with every form the lifecycle shows (blank and
with errors), the seller desk, notifications and the admin pages staff decide on: no
violation of any impact, and no needs-review item of serious or critical impact. Then the
keyboard: every action is reached with Tab, and the focus is always visible.

The audit table (page × violations / needs review by impact) is written beside the
screenshots, ``axe-<lang>.txt``."""
from __future__ import annotations

import json
from decimal import Decimal
from secrets import token_urlsafe

import pytest
from django.urls import reverse

from accounts.invitations import TOKEN_BYTES, store_invitation_create, token_hash
from accounts.models import StoreInvitation, User
from catalog.models import Product, Warehouse
from disputes import selectors
from disputes.models import Dispute
from disputes.services import (
    dispute_counter_offer,
    dispute_escalate,
    dispute_inspect,
    dispute_message_post,
    dispute_open,
    dispute_send_instructions,
    dispute_ship,
    dispute_withdraw,
)
from disputes.services.answers import return_warehouses_for
from disputes.tests.factories import photo
from orders.models import Order
from orders.services import order_confirm_delivery, order_mark_shipped, order_place

from .support import IMPACTS, LANGUAGES, Audit, path_of, walk_with_tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# --- given: the demo, plus a dispute in each state a page shows differently --------------------------


def person(username: str) -> User:
    return User.objects.get(username=username)


def delivered_line(buyer: User, title: str = "Wireless earbuds Pro"):
    """A line bought, shipped and received through the services, ready to dispute."""
    product = Product.objects.get(title=title)
    order = order_place(buyer=buyer, product=product, quantity=1)
    order_mark_shipped(order=order, seller=product.store.members.first(), tracking_number="RR000000001CN")
    order_confirm_delivery(order=order, buyer=buyer)
    return order.lines.get()


def opened(buyer: User, *, route: str = Dispute.Route.LOCAL, kind: str = Dispute.Kind.RETURN) -> Dispute:
    line = delivered_line(buyer)
    return dispute_open(buyer=buyer, order_line=line, kind=kind, route=route, amount=line.line_total,
                        reason=Dispute.Reason.NOT_AS_EXPECTED, description="Not what the photos showed.",
                        evidence=[] if route == Dispute.Route.LOCAL else [photo()])


def instructed(buyer: User, seller: User) -> Dispute:
    dispute = opened(buyer)
    return dispute_send_instructions(dispute=dispute, seller=seller, warehouse=return_warehouses_for(dispute).first(),
                                     method="drop_off", carrier="Russian Post", text="Drop it at any post office.")


def in_transit(buyer: User, seller: User) -> Dispute:
    return dispute_ship(dispute=instructed(buyer, seller), buyer=buyer, carrier="Russian Post",
                        tracking_number="RA123456789RU")


def rejected_after_inspection(buyer: User, seller: User) -> Dispute:
    dispute = in_transit(buyer, seller)
    answers = {code: "meets" for code in selectors.enabled_condition_codes(dispute.order_line.product.category)}
    answers["signs_of_use"] = "fails"
    return dispute_inspect(dispute=dispute, inspector=seller, answers=answers,
                           notes={"signs_of_use": "Scratches on the case."}, photos=[photo()])


@pytest.fixture
def disputes(demo) -> dict[str, Dispute]:
    buyer, seller = person("buyer_ru"), person("seller")
    international = opened(buyer, route=Dispute.Route.INTERNATIONAL)
    countered = dispute_counter_offer(dispute=opened(buyer, route=Dispute.Route.INTERNATIONAL), seller=seller,
                                      amount=Decimal("1000.00"), message="Half, and keep the goods.")
    withdrawn = dispute_withdraw(dispute=opened(buyer), buyer=buyer)
    escalated = dispute_escalate(dispute=rejected_after_inspection(buyer, seller), buyer=buyer,
                                 reason="The scratches were there when it arrived.")
    return {
        "local": Dispute.objects.get(order_line__order__number="DEMO-1002"),  # the demo's, waiting for the seller
        "international": international,
        "countered": countered,
        "instructed": instructed(buyer, seller),
        "in_transit": in_transit(buyer, seller),
        "rejected": rejected_after_inspection(buyer, seller),
        "escalated": escalated,
        "withdrawn": withdrawn,
    }


def detail(dispute: Dispute) -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk])


def action(dispute: Dispute, verb: str) -> str:
    return reverse("disputes:dispute_action", args=[dispute.pk, verb])


def submit_unchecked(portal, page, form: str, *, clear: tuple[str, ...] = (), status: int = 422) -> None:
    """Submit ``form`` with fields cleared and the browser's own checks off, so the server's
    error messages (and the fields' links to them) are what is audited."""
    for name in clear:
        page.locator(form).locator(f"[name={name}]").fill("")
    page.locator(form).evaluate("form => { form.noValidate = true; }")
    portal.expect_status(page.locator(form).get_attribute("action") or path_of(page), status)
    portal.submit(page, form, status=status)


def invitation_token(seller) -> str:
    """A pending invitation to ``seller``'s store, and its link's token (which is only in the e-mail)."""
    invitation = store_invitation_create(invited_by=seller, email="new.member@example.org", language="en")
    token = token_urlsafe(TOKEN_BYTES)
    StoreInvitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash(token))
    return token


# --- then --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_passes_axe(portal, disputes, lang, settings):
    buyer_ru = person("buyer_ru")
    local_line = Order.objects.get(number="DEMO-1001").lines.get()
    ua_line = Order.objects.get(number="DEMO-2001").lines.get()
    earbuds = Product.objects.get(title="Wireless earbuds Pro")
    opening = reverse("disputes:dispute_open", args=[local_line.pk])

    anonymous = portal.visitor()
    buyer = portal.visitor("buyer_ru")
    buyer_ua = portal.visitor("buyer_ua")
    seller = portal.visitor("seller")
    staff = portal.visitor("staff", admin=True)

    def audit(page, label: str, path: str | None = None) -> Audit:
        if path is not None:
            portal.goto(page, path)
        return portal.audit(page, label, strict=not label.startswith("admin"))

    audit(anonymous, "catalog (visitor)", "/")
    audit(buyer, "catalog, local return filter", "/?local_return=on")
    audit(buyer, "catalog, MALL", "/?mall=on")
    audit(anonymous, "login", reverse("account_login"))
    submit_unchecked(portal, anonymous, "main form:has(#id_password)", clear=("login", "password"), status=200)
    audit(anonymous, "login with errors")
    audit(buyer, "product page (local return available)", earbuds.get_absolute_url())
    audit(buyer_ua, "product page (local return unavailable)", earbuds.get_absolute_url())
    audit(buyer, "my orders", reverse("orders:order_list"))
    audit(buyer, "opening form (local return)", opening)
    audit(buyer_ua, "opening form (local return unavailable)", reverse("disputes:dispute_open", args=[ua_line.pk]))
    buyer.locator("input[name=route][value=international]").check()
    submit_unchecked(portal, buyer, "form:has([name=kind])", clear=("amount",))
    audit(buyer, "opening form with errors")
    audit(buyer, "my disputes", reverse("disputes:dispute_list"))

    for key, who, page, forms in (
        ("local", "seller", seller, "instructions"),
        ("local", "buyer", buyer, "withdraw"),
        ("international", "seller", seller, "instructions, accept, counter-offer, reject"),
        ("countered", "buyer", buyer, "accept offer, escalate"),
        ("instructed", "buyer", buyer, "ship"),
        ("instructed", "seller", seller, "none"),
        ("in_transit", "seller", seller, "inspection"),
        ("rejected", "buyer", buyer, "accept rejection, escalate"),
        ("rejected", "seller", seller, "none"),
        ("escalated", "buyer", buyer, "none"),
        ("withdrawn", "buyer", buyer, "reopen"),
    ):
        audit(page, f"dispute page, {who}, {disputes[key].state} ({forms})", detail(disputes[key]))

    # A long dispute in pages: the links to earlier and later entries and messages.
    escalated, page_size = disputes["escalated"], settings.DISPUTE_PAGE_SIZE
    for n, author in enumerate((person("buyer_ru"), person("seller"), person("buyer_ru"))):
        dispute_message_post(dispute=escalated, author=author, body=f"Message {n}")
    settings.DISPUTE_PAGE_SIZE = 2
    audit(buyer, "dispute page, an older page of the timeline and the messages",
          detail(escalated) + "?events=2&messages=2")
    links = [buyer.locator("nav.list-pages a").nth(i).get_attribute("href") for i in range(3)]
    assert links == [detail(escalated) + suffix for suffix in (
        "?events=3&messages=2#timeline", "?messages=2#timeline", "?events=2#messages")]
    settings.DISPUTE_PAGE_SIZE = page_size

    # Every form again, sent empty: the errors, and the fields that point at them.
    for key, page, verb, clear in (
        ("international", seller, "instructions", ("carrier",)),
        ("international", seller, "counter-offer", ("amount",)),
        ("international", seller, "reject", ("reason",)),
        ("in_transit", seller, "inspect", ()),
        ("instructed", buyer, "ship", ("carrier", "tracking_number")),
        ("rejected", buyer, "escalate", ("reason",)),
    ):
        portal.goto(page, detail(disputes[key]))
        submit_unchecked(portal, page, f'form[action="{action(disputes[key], verb)}"]', clear=clear)
        audit(page, f"dispute page, {verb} form with errors")
    portal.goto(buyer, detail(disputes["local"]))
    messages = reverse("disputes:dispute_message", args=[disputes["local"].pk])
    submit_unchecked(portal, buyer, f'form[action="{messages}"]', clear=("body",))
    audit(buyer, "dispute page, message form with errors")

    audit(buyer, "return slip", reverse("disputes:return_slip", args=[disputes["instructed"].pk]))
    audit(seller, "seller desk", reverse("disputes:seller_desk"))
    audit(seller, "seller desk, all", reverse("disputes:seller_desk") + "?status=all")
    audit(seller, "orders to ship", reverse("orders:seller_order_list"))
    audit(seller, "instruction templates", reverse("disputes:instruction_templates"))
    submit_unchecked(portal, seller, "main form:has([name=carrier])", clear=("name", "carrier"))
    audit(seller, "instruction templates with errors")
    audit(seller, "return warehouses", reverse("catalog:seller_warehouses"))
    submit_unchecked(portal, seller, "main form:has([name=city])", clear=("name", "city"))
    audit(seller, "return warehouses with errors")
    moscow = Warehouse.objects.filter(store=person("seller").store, accepts_returns=True).first()
    audit(seller, "return warehouse, edit", reverse("catalog:seller_warehouse_edit", args=[moscow.pk]))
    audit(buyer, "profile (buyer)", reverse("accounts:profile"))
    audit(seller, "profile (seller)", reverse("accounts:profile"))
    audit(seller, "store team", reverse("team:index"))
    submit_unchecked(portal, seller, "main form:has([name=email])", clear=("email",))
    audit(seller, "store team with errors")
    audit(anonymous, "store invitation", reverse("accounts:invitation_accept", args=[invitation_token(person("seller"))]))
    submit_unchecked(portal, anonymous, "main form:has([name=username])", clear=("username", "password1", "password2"))
    audit(anonymous, "store invitation with errors")
    audit(buyer, "notifications (buyer)", reverse("notifications:list"))
    audit(seller, "notifications (seller)", reverse("notifications:list"))
    audit(staff, "admin index", reverse("admin:index"))
    audit(staff, "admin disputes list", reverse("admin:disputes_dispute_changelist"))
    audit(staff, "admin dashboard", reverse("staff_dashboard"))
    audit(staff, "admin rules in force", reverse("staff_rules"))
    audit(staff, "admin dispute", reverse("admin:disputes_dispute_change", args=[disputes["escalated"].pk]))
    audit(staff, "admin decide", reverse("admin:disputes_dispute_decide", args=[disputes["escalated"].pk]))

    table = audit_table(portal.audits)
    (portal.shots_dir / f"axe-{lang}.txt").write_text(table + "\n")
    (portal.shots_dir / f"axe-{lang}.json").write_text(json.dumps(
        [{"page": a.label, "url": a.url, "violations": a.violations, "incomplete": a.incomplete}
         for a in portal.audits],
        indent=1))
    failing = [audit for audit in portal.audits if audit.failures]
    assert not failing, f"axe-core ({lang}):\n{table}\n\n" + "\n".join(audit.report() for audit in failing)
    assert buyer_ru.notifications.exists()  # the notification pages had something to show
    portal.assert_no_problems()


def audit_table(audits: list[Audit]) -> str:
    """Per page, by impact: how many axe rules found something, and on how many elements."""
    def cell(items: list[dict]) -> str:
        return ", ".join(
            f"{impact} {sum(1 for i in items if i['impact'] == impact)} "
            f"({sum(len(i['nodes']) for i in items if i['impact'] == impact)})"
            for impact in IMPACTS if any(i["impact"] == impact for i in items)) or "0"

    width = max(len(audit.label) for audit in audits)
    lines = [f"{'page':<{width}} | violations: rules (elements) | needs review: rules (elements)", "-" * (width + 60)]
    lines += [f"{audit.label:<{width}} | {cell(audit.violations)} | {cell(audit.incomplete)}" for audit in audits]
    return "\n".join(lines)


# --- the keyboard ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en"])
def test_every_action_is_reached_with_tab_and_the_focus_is_visible(portal, disputes, lang):
    anonymous = portal.visitor()
    buyer = portal.visitor("buyer_ru")
    seller = portal.visitor("seller")
    opening = reverse("disputes:dispute_open", args=[Order.objects.get(number="DEMO-1001").lines.get().pk])
    for page, path in (
        (anonymous, "/"),
        (buyer, opening),
        (buyer, detail(disputes["rejected"])),
        (seller, detail(disputes["international"])),
        (seller, detail(disputes["in_transit"])),
    ):
        portal.goto(page, path)
        walk = walk_with_tab(page)
        assert len(walk.reached) > 5, (path, walk)
        assert not walk.unreached, (path, [item["html"] for item in walk.unreached])
        assert not walk.unindicated, (path, [item["html"] for item in walk.unindicated])
    portal.assert_no_problems()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_local_return_filter_works_from_the_keyboard(portal, lang):
    page = portal.goto(portal.visitor("buyer_ru"), "/")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "id_local_return":
            break
    else:
        pytest.fail("Tab never reached the Local return filter")
    page.keyboard.press("Space")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "submit":
            break
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")

    assert "local_return=on" in page.url
    shown = {int(href.split("/")[2]) for href in page.locator("main .grid a[href^='/products/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")}
    assert shown == set(Product.objects.active().with_local_return_in("RU").filter(local_return_available=True)
                        .values_list("pk", flat=True))
    portal.assert_no_problems()
