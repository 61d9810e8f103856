"""The staff's disputes changelist on a 1,280 × 800 screen (issue 10): the columns staff sort
and act by, State and Deadline, are in sight, not under the filter sidebar, and the list does
not scroll sideways. A screenshot of what the supervisor sees is saved under the test's
tmp_path and named in every failure."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, StaffFactory
from catalog.models import Store
from disputes.models import Dispute
from disputes.tests.factories import DisputeFactory, disputable_line
from orders.management.commands.seed_demo import DEMO_PASSWORD
from orders.models import OrderLine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S, K, R = Dispute.State, Dispute.Kind, Dispute.Route
VIEWPORT = {"width": 1280, "height": 800}
# The column headers staff must see: matched by their words, whatever the admin's wording
# around them ("State", "Deadline"; "Current deadline" today).
COLUMNS = {"State": r"\bstate\b", "Deadline": r"\bdeadline\b"}
TITLES = ("Wireless earbuds Pro with charging case", "Men's waterproof hiking jacket, size L",
          "Stainless steel automatic watch, 42 mm", "Vitamin C face serum, 30 ml", "Vermilion silk kimono robe",
          "USB-C fast charger 65 W, three ports")
BUYERS = ("anastasia.quillfeather", "dmitry.volkov", "ekaterina.smirnova", "olga.kuznetsova", "sergei.ivanov")
# (state, kind, route, deadline in days from now: negative = overdue; None = nobody on the clock)
DISPUTES = (
    *[(S.ESCALATED, K.RETURN, R.LOCAL, -2)] * 2, *[(S.ESCALATED, K.REFUND_ONLY, R.NONE, -1)] * 2,
    *[(S.ESCALATED, K.RETURN, R.INTERNATIONAL, 5)] * 4,
    *[(S.AWAITING_SELLER, K.RETURN, R.LOCAL, -1)] * 3, *[(S.AWAITING_SELLER, K.RETURN, R.LOCAL, 4)] * 5,
    (S.AWAITING_BUYER_SHIPMENT, K.RETURN, R.LOCAL, -3), *[(S.AWAITING_BUYER_SHIPMENT, K.RETURN, R.LOCAL, 8)] * 3,
    *[(S.RETURN_IN_TRANSIT, K.RETURN, R.INTERNATIONAL, 12)] * 3,
    (S.REJECTED, K.REFUND_ONLY, R.NONE, -1), (S.REJECTED, K.RETURN, R.LOCAL, 6),
    (S.COUNTER_OFFERED, K.REFUND_ONLY, R.NONE, 3),
    *[(S.REFUNDED, K.RETURN, R.LOCAL, None)] * 3, *[(S.CLOSED, K.REFUND_ONLY, R.NONE, None)] * 2,
)

# Where each wanted header is, what is at its centre, the filter sidebar and the table's width.
MEASURE = """(patterns) => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const headers = [...document.querySelectorAll('#result_list thead th')];
  const found = {};
  for (const [name, source] of Object.entries(patterns)) {
    const pattern = new RegExp(source, 'i');
    const th = headers.find(h => pattern.test(h.textContent.trim()));
    if (!th) { found[name] = null; continue; }
    const b = box(th);
    const hit = document.elementFromPoint((b.left + b.right) / 2, (b.top + b.bottom) / 2);
    found[name] = {text: th.textContent.trim(), box: b, hitIsHeader: !!hit && th.contains(hit),
                   hit: hit ? hit.outerHTML.slice(0, 100) : null};
  }
  const filter = document.querySelector('#changelist-filter');
  const table = document.querySelector('#result_list');
  return {
    headers: headers.map(h => h.textContent.trim()), found,
    filter: filter && filter.getClientRects().length ? box(filter) : null,
    table: table && {width: table.getBoundingClientRect().width, container: table.parentElement.clientWidth,
                     scrollWidth: table.parentElement.scrollWidth},
    page: {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth},
  };
}"""


@pytest.fixture
def supervisor():
    # A supervisor's permissions on disputes, given to the account itself: the live server's
    # tests empty the database between them, groups made by data migrations included.
    return StaffFactory(username="supervisor.petrova", first_name="Irina", last_name="Petrova",
                        password=DEMO_PASSWORD,
                        permissions=["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute",
                                     "disputes.view_refund", "disputes.pay_refund"])


@pytest.fixture
def disputes(demo) -> list[Dispute]:
    """Thirty-one disputes of the demo's two stores by five buyers: some overdue, some escalated
    (those past the staff deadline flagged), some being paid or closed."""
    now = timezone.now()
    stores = list(Store.objects.filter(name__in=["Golden Dragon Trading", "Bosphorus Textiles"]).order_by("name"))
    buyers = [BuyerFactory(username=name, email=f"{name}@example.com") for name in BUYERS]
    disputes = []
    for i, (state, kind, route, days) in enumerate(DISPUTES):
        line = disputable_line(buyer=buyers[i % len(buyers)], store=stores[i % len(stores)], warehouse_country=None,
                               price=Decimal("2490.00") + 1000 * (i % 7))
        OrderLine.objects.filter(pk=line.pk).update(title=TITLES[i % len(TITLES)])
        line.refresh_from_db()
        deadline = None if days is None else now + timedelta(days=days, minutes=i)
        terminal = state in Dispute.TERMINAL_STATES
        disputes.append(DisputeFactory(
            order_line=line, state=state, kind=kind, route=route, deadline_at=deadline,
            overdue_flagged_at=deadline + timedelta(minutes=1) if state == S.ESCALATED and days < 0 else None,
            resolution=(Dispute.Resolution.REFUNDED if state == S.REFUNDED else Dispute.Resolution.REJECTED)
            if terminal else "",
            closed_at=now - timedelta(days=1) if terminal else None,
            created_at=now - timedelta(days=10, hours=i)))
    assert sum(1 for d in disputes if d.deadline_at and d.deadline_at < now) == 9
    assert sum(1 for d in disputes if d.state == S.ESCALATED) == 8
    return disputes


def test_state_and_deadline_are_in_sight_beside_the_filters_at_1280_pixels(portal, supervisor, disputes,
                                                                             tmp_path):
    page = portal.visitor(supervisor.username, admin=True)
    page.set_viewport_size(VIEWPORT)
    portal.goto(page, reverse("admin:disputes_dispute_changelist"))
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = tmp_path / "disputes-changelist-1280x800.png"
    page.screenshot(path=str(shot))
    measured = page.evaluate(MEASURE, COLUMNS)

    problems = []
    filter_box = measured["filter"]
    for name, header in measured["found"].items():
        if header is None:
            problems.append(f"no column header reads {name!r} (headers: {measured['headers']})")
            continue
        box = header["box"]
        if box["left"] < 0 or box["right"] > VIEWPORT["width"] + 0.5:
            problems.append(f"{name!r} is not inside the {VIEWPORT['width']} px viewport: "
                            f"{box['left']:.0f}–{box['right']:.0f} px")
        if filter_box is not None:
            beside = box["top"] < filter_box["bottom"] and filter_box["top"] < box["bottom"]
            if beside and box["right"] > filter_box["left"] + 0.5:
                problems.append(f"{name!r} ends at {box['right']:.0f} px, under the filter sidebar that starts at "
                                f"{filter_box['left']:.0f} px")
        if not header["hitIsHeader"]:
            problems.append(f"at the centre of {name!r} the page shows {header['hit']}, not the header")
    table = measured["table"]
    if table["width"] > table["container"] + 0.5 or table["scrollWidth"] > table["container"]:
        problems.append(f"the list is {table['width']:.0f} px wide (scrolls to {table['scrollWidth']} px) in a "
                        f"{table['container']} px container: it scrolls sideways")
    if measured["page"]["scrollWidth"] > measured["page"]["clientWidth"]:
        problems.append(f"the page is {measured['page']['scrollWidth']} px wide in a "
                        f"{measured['page']['clientWidth']} px window")
    assert not problems, (f"screenshot: {shot}\n" + "\n".join(problems)
                          + f"\nfilter sidebar: {filter_box}\nheaders: {measured['headers']}")
    portal.assert_no_problems()
