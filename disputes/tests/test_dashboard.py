"""The staff dashboard (issue 10): its figures equal those worked out by hand from a known
fixture with fixed timestamps; its page is for staff who may see disputes, reads in Russian,
draws its charts as accessible SVG, and makes as many queries with 10 disputes as with 300."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import ProductFactory, StoreFactory
from disputes.dashboard import (
    DAYS,
    dashboard,
    duration_text,
    local_share_by_country,
    open_now,
    percent_text,
    per_day,
    store_rates,
    time_to_refund,
)
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.tests.factories import DisputeFactory
from orders.models import OrderLine
from orders.tests.factories import order_with_line
from returns_portal import charts
from disputes.tests.test_russian_pages import demo  # noqa: F401 (a fixture: the demo data)

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")  # the site's time zone (settings.TIME_ZONE)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=MSK)
S, K, R, E = Dispute.State, Dispute.Kind, Dispute.Route, DisputeEvent.Kind


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def lines(store, buyer, count: int, *, delivered: bool = True) -> list[OrderLine]:
    product = ProductFactory(store=store)
    return [order_with_line(buyer=buyer, store=store, delivered=delivered, delivered_at=at(1, 5) if delivered else None,
                            **({} if delivered else {"status": "shipped", "shipped_at": at(1, 3)}),
                            line__product=product).lines.get() for _ in range(count)]


def dispute(line, kind, route, state, opened, *, deadline=None, **fields) -> Dispute:
    d = DisputeFactory(order_line=line, kind=kind, route=route, state=state, created_at=opened, deadline_at=deadline,
                       **fields)
    event(d, E.OPENED, "", S.AWAITING_SELLER, opened, actor=d.buyer)
    return d


def event(d, kind, from_state, to_state, when, *, actor=None) -> DisputeEvent:
    return DisputeEvent.objects.create(dispute=d, actor=actor, kind=kind, from_state=from_state, to_state=to_state,
                                       created_at=when)


def paid(d, when) -> Refund:
    return Refund.objects.create(dispute=d, order_line=d.order_line, amount=d.amount, currency=d.currency,
                                 idempotency_key=f"refund-{d.pk}", status=Refund.Status.PAID, created_at=when,
                                 paid_at=when)


@pytest.fixture
def world():
    """Three stores, buyers in three countries; every figure below is worked out from this by hand.

    Alpha: 4 delivered lines (and 1 shipped, not counted), 3 disputes; Beta: 2 lines, 2 disputes;
    Gamma: 5 lines, 2 disputes (one opened in January, outside the 30 days).
    """
    ru, ua, kz = BuyerFactory(country="RU"), BuyerFactory(country="UA"), BuyerFactory(country="KZ")
    alpha, beta, gamma = StoreFactory(name="Alpha"), StoreFactory(name="Beta"), StoreFactory(name="Gamma")
    alpha_seller, beta_seller, gamma_seller = (SellerFactory(store=s) for s in (alpha, beta, gamma))
    a, b, g = lines(alpha, ru, 4), lines(beta, ua, 2), lines(gamma, kz, 4) + lines(gamma, ru, 1)
    lines(alpha, ru, 1, delivered=False)

    # Alpha. Opened today, waiting for the seller, not due yet.
    d1 = dispute(a[0], K.RETURN, R.LOCAL, S.AWAITING_SELLER, at(3, 15, 10), deadline=at(3, 20, 10))
    # Opened at 01:30 in Moscow, still 1 March in UTC: it counts on 2 March. Instructions on
    # time (a day later); refunded 3 days after opening, paid on 5 March (4 March in UTC).
    d2 = dispute(a[1], K.RETURN, R.LOCAL, S.REFUNDED, at(3, 2, 1, 30), resolution="refunded", closed_at=at(3, 5, 1, 30))
    event(d2, E.INSTRUCTIONS_SENT, S.AWAITING_SELLER, S.AWAITING_BUYER_SHIPMENT, at(3, 3), actor=alpha_seller)
    paid(d2, at(3, 5, 1, 30))
    # Rejected 6 days after opening (late), escalated; the staff deadline passed yesterday and the
    # sweep flagged it.
    d3 = dispute(a[2], K.RETURN, R.INTERNATIONAL, S.ESCALATED, at(3, 1, 9), deadline=at(3, 14, 10),
                 overdue_flagged_at=at(3, 14, 10, 1))
    event(d3, E.REJECTED, S.AWAITING_SELLER, S.REJECTED, at(3, 7, 9), actor=alpha_seller)
    event(d3, E.ESCALATED, S.REJECTED, S.ESCALATED, at(3, 7, 10), actor=d3.buyer)

    # Beta. A refund-only dispute whose seller deadline passed on 25 February, never swept.
    dispute(b[0], K.REFUND_ONLY, R.NONE, S.AWAITING_SELLER, at(2, 20), deadline=at(2, 25))
    # Opened at 00:30 on the first of the 30 days; accepted in 2 days; paid 6 days after opening.
    d5 = dispute(b[1], K.RETURN, R.INTERNATIONAL, S.REFUNDED, at(2, 14, 0, 30), resolution="refunded")
    event(d5, E.ACCEPTED, S.AWAITING_SELLER, S.REFUND_PENDING, at(2, 16), actor=beta_seller)
    paid(d5, at(2, 20, 0, 30))

    # Gamma. The seller let the deadline pass: refunded by the sweep 5 days after opening.
    d6 = dispute(g[0], K.RETURN, R.INTERNATIONAL, S.REFUNDED, at(3, 5), resolution="refunded")
    event(d6, E.DEADLINE_PASSED, S.AWAITING_SELLER, S.REFUND_PENDING, at(3, 10))
    paid(d6, at(3, 10))
    # January: withdrawn, reopened on the 13th, instructions on the 17th (4 days after the
    # reopening: on time, though 7 after the opening); refunded on the 25th.
    d7 = dispute(g[4], K.RETURN, R.LOCAL, S.REFUNDED, at(1, 10), resolution="refunded")
    event(d7, E.WITHDRAWN, S.AWAITING_SELLER, S.CLOSED, at(1, 11), actor=d7.buyer)
    event(d7, E.REOPENED, S.CLOSED, S.AWAITING_SELLER, at(1, 13), actor=d7.buyer)
    event(d7, E.INSTRUCTIONS_SENT, S.AWAITING_SELLER, S.AWAITING_BUYER_SHIPMENT, at(1, 17), actor=gamma_seller)
    paid(d7, at(1, 25))
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


def test_disputes_opened_and_refunds_paid_per_day_in_moscow_time(world):
    days = per_day(NOW)

    assert len(days) == DAYS == 30
    assert (days[0].day, days[-1].day) == (date(2026, 2, 14), date(2026, 3, 15))
    assert {d.day: d.disputes_opened for d in days if d.disputes_opened} == {
        date(2026, 2, 14): 1, date(2026, 2, 20): 1, date(2026, 3, 1): 1, date(2026, 3, 2): 1, date(2026, 3, 5): 1,
        date(2026, 3, 15): 1}
    assert {d.day: d.refunds_paid for d in days if d.refunds_paid} == {
        date(2026, 2, 20): 1, date(2026, 3, 5): 1, date(2026, 3, 10): 1}
    assert sum(d.disputes_opened for d in days) == 6 and sum(d.refunds_paid for d in days) == 3


def test_open_disputes_by_state_and_overdue_by_kind(world):
    figures = open_now(NOW)

    assert [(row.label, row.count) for row in figures.by_state] == [
        ("Waiting for the seller", 2), ("Waiting for the buyer to ship", 0), ("Return on its way", 0),
        ("Seller made a counter-offer", 0), ("Rejected by the seller", 0), ("With marketplace staff", 1),
        ("Refund being paid", 0)]
    assert [(row.label, row.count) for row in figures.overdue_by_kind] == [
        ("Return goods and money: Local return", 0), ("Return goods and money: International return", 1),
        ("Refund only (keep the goods)", 1)]


def test_median_time_from_opening_to_refund_local_and_international(world):
    medians = time_to_refund(NOW)

    # Local: only the 3-day refund is in the 30 days. International: 6 and 5 days.
    assert [(m.label, m.refunds, m.median) for m in medians] == [
        ("Local return", 1, timedelta(days=3)), ("International return", 2, timedelta(days=5, hours=12))]
    assert [m.text for m in medians] == ["3 days", "5 days 12 hours"]


def test_stores_by_dispute_rate_with_their_on_time_answers(world):
    rows = store_rates(NOW)

    assert [(r.name, r.delivered_lines, r.disputes, r.dispute_rate, r.answered_on_time, r.answers_due, r.on_time_rate)
            for r in rows] == [
        ("Beta", 2, 2, "100.0%", 1, 1, "100.0%"),  # accepted in 2 days; the unswept one has no answer yet
        ("Alpha", 4, 3, "75.0%", 1, 2, "50.0%"),  # instructions in a day; a rejection after 6 days
        ("Gamma", 5, 2, "40.0%", 1, 2, "50.0%"),  # the deadline passed; instructions 4 days after reopening
    ]
    assert [r.name for r in store_rates(NOW, limit=2)] == ["Beta", "Alpha"]


def test_local_return_share_by_buyers_country(world):
    assert [(c.country, c.returns, c.local, c.share) for c in local_share_by_country()] == [
        ("RU", 4, 3, "75.0%"), ("KZ", 1, 0, "0.0%"), ("UA", 1, 0, "0.0%")]


def test_figures_read_in_the_readers_language():
    from django.utils import translation

    with translation.override("ru"):
        assert percent_text(1, 3) == "33,3\xa0%"
        assert duration_text(timedelta(days=5, hours=12)) == "5 дней 12 часов"
        assert duration_text(timedelta(minutes=35)) == "35 минут"
    assert percent_text(2, 3) == "66.7%" and percent_text(1, 0) == "—"
    assert duration_text(timedelta(days=1, hours=1)) == "1 day 1 hour" and duration_text(None) == "—"


def test_with_nothing_at_all_every_figure_is_zero():
    figures = dashboard(NOW)

    assert (figures.disputes_opened, figures.refunds_paid, figures.open_now.total) == (0, 0, 0)
    assert [m.median for m in figures.time_to_refund] == [None, None]
    assert figures.stores == [] and figures.countries == []


# --- the page -------------------------------------------------------------------------------------

VIEW = ["disputes.view_dispute"]


def staff(permissions=()) -> User:
    user = StaffFactory(permissions=list(permissions))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_the_page_shows_the_figures(client, world, clock):
    client.force_login(staff(VIEW))

    response = client.get(reverse("staff_dashboard"))
    page = response.content.decode()

    assert response.status_code == 200
    assert response.context["figures"] == dashboard(NOW)
    assert "Figures at 15 Mar 2026, 12:00" in page
    assert '<tr data-day="2026-03-02"><th scope="row">2 Mar</th><td>1</td><td>0</td></tr>' in page
    assert '<tr data-day="2026-03-05"><th scope="row">5 Mar</th><td>1</td><td>1</td></tr>' in page
    assert '<tr><th scope="row">International return</th><td>2</td><td>5 days 12 hours</td></tr>' in page
    assert "<td>75.0%</td>" in page and "(1 of 2)" in page
    assert '<tr data-country="RU"><th scope="row">Russia</th><td>4</td><td>3</td><td>75.0%</td></tr>' in page
    # The admin's look: its header and breadcrumbs (the navigation sidebar is off site-wide).
    assert "Returns portal administration" in page and '<div class="breadcrumbs">' in page


def test_the_charts_are_svg_images_with_a_title(client, world, clock):
    client.force_login(staff(VIEW))

    page = client.get(reverse("staff_dashboard")).content.decode()

    for chart, title in (("chart-opened", "Disputes opened per day over the last 30 days"),
                         ("chart-paid", "Refunds paid per day over the last 30 days"),
                         ("chart-by-state", "Open disputes by state"),
                         ("chart-overdue", "Open disputes past their deadline, by kind"),
                         ("chart-countries", "Share of return disputes that are local returns, by the buyer")):
        assert f'<svg class="chart" id="{chart}"' in page
        assert f'role="img" aria-labelledby="{chart}-title"' in page
        assert f'<title id="{chart}-title">{title}' in page
    assert page.count('class="chart-mark"') == 30 + 30 + 7 + 3 + 3
    assert "<script" not in page.split('id="content-main"')[1]


def test_charts_in_russian_keep_decimal_points_in_their_drawing(client, world, clock):
    client.force_login(staff(VIEW))
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})

    page = client.get(reverse("staff_dashboard")).content.decode()

    chart = page.split('id="chart-countries"')[1].split("</div>")[0]
    assert 'width="75.0"' in chart and 'data-value="75.0"' in chart  # the drawing's numbers
    assert "<li>75,0\xa0%</li>" in chart  # the reader's


def test_anonymous_visitors_go_to_the_login_and_staff_without_the_permission_are_refused(client, world):
    url = reverse("staff_dashboard")

    anonymous = client.get(url)
    client.force_login(BuyerFactory())
    buyer = client.get(url)
    client.force_login(staff(["disputes.view_refund", "disputes.change_dispute"]))
    staff_without = client.get(url)

    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("admin:login"))
    assert buyer.status_code == 302 and buyer.url.startswith(reverse("admin:login"))
    assert staff_without.status_code == 403
    assert b"Alpha" not in staff_without.content


def grow(count: int) -> None:
    """``count`` disputes over 6 stores and 3 countries, in every state, with their events and refunds."""
    buyers = [BuyerFactory(country=c) for c in ("RU", "UA", "KZ")]
    stores = [StoreFactory() for _ in range(6)]
    sellers = [SellerFactory(store=s) for s in stores]
    products = [ProductFactory(store=s) for s in stores]
    states = [S.AWAITING_SELLER, S.ESCALATED, S.REFUNDED, S.REJECTED, S.RETURN_IN_TRANSIT]
    for n in range(count):
        store, buyer = n % 6, buyers[n % 3]
        line = order_with_line(buyer=buyer, store=stores[store], delivered=True, delivered_at=NOW - timedelta(days=9),
                               line__product=products[store]).lines.get()
        kind, route = [(K.RETURN, R.LOCAL), (K.RETURN, R.INTERNATIONAL), (K.REFUND_ONLY, R.NONE)][n % 3]
        state = states[n % 5]
        opened = NOW - timedelta(days=n % 29, hours=n % 7)
        d = dispute(line, kind, route, state, opened, deadline=None if state == S.REFUNDED else opened + timedelta(days=5),
                    resolution="refunded" if state == S.REFUNDED else "")
        if state != S.AWAITING_SELLER:
            event(d, E.ACCEPTED, S.AWAITING_SELLER, S.REFUND_PENDING, opened + timedelta(days=n % 8),
                  actor=sellers[store])
        if state == S.REFUNDED:
            paid(d, opened + timedelta(days=1, hours=n % 24))


@pytest.mark.parametrize("count", [10, 300])
def test_the_page_makes_as_many_queries_whatever_the_data(client, clock, count, django_assert_max_num_queries):
    grow(count)
    client.force_login(staff(VIEW))

    with django_assert_max_num_queries(15):
        response = client.get(reverse("staff_dashboard"))

    assert response.status_code == 200
    assert sum(row.count for row in response.context["figures"].open_now.by_state) == count - count // 5
    assert len(response.context["figures"].stores) == 6


def test_the_chart_scale_is_a_round_number():
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 11, 26, 240)] == [1, 1, 5, 10, 20, 50, 500]
    five = charts.columns([charts.Point("a", 0, "0"), charts.Point("b", 5, "5")])
    assert [(m.x, m.y, m.width, m.height) for m in five.marks] == [(1.5, 100, 7, 0), (11.5, 0, 7, 100)]
    assert [(m.label_at, m.show_label) for m in five.marks] == [(25, False), (75, True)]
    assert [t.text for t in five.ticks] == ["0", "5"]  # no tick at 2.5 of a count
    assert [t.text for t in charts.columns([charts.Point("a", 7, "7")]).ticks] == ["0", "5", "10"]


def test_the_staff_pages_read_in_russian(client, demo):
    """The front page's queues, the dashboard and the rules page: no English sentence of ours, no code."""
    from disputes.tests.test_russian_pages import assert_russian

    client.force_login(demo["staff"])

    for url in (reverse("admin:index"), reverse("staff_dashboard"), reverse("staff_rules")):
        assert_russian(client, url)
