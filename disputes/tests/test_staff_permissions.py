"""Who may see and do what on a dispute, page by page (DESIGN §5): the buyer, the store's
members and staff by their permissions. The staff flag alone grants nothing: seeing a dispute
anywhere (portal pages, evidence files, the admin) needs ``disputes.view_dispute``; writing
on it needs ``disputes.change_dispute``; deciding also ``disputes.decide_dispute``.

For every person: the exact status code (404 in the portal for a dispute they may not see,
never a 500; 403 or the admin's own sign-in redirect in the admin), nothing of the dispute
in a refused response, and nothing written by a refused write.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import (
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Refund,
    ReturnInstructions,
)
from disputes.tests.factories import PNG, DisputeAttachmentFactory, DisputeFactory, disputable_line
from notifications.models import Notification
from orders.models import OrderLine

pytestmark = pytest.mark.django_db

PAID = Decimal("2490.00")
S = Dispute.State
VIEW, CHANGE, DECIDE = "disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"

# What a refused response must not show: the item, the buyer, what they wrote, the store.
TITLE = "Vermilion silk kimono"
BUYER_FIRST, BUYER_LAST, BUYER_USERNAME = "Anastasia", "Quillfeather", "anastasia.quillfeather"
DESCRIPTION = "The hem came apart on the first wear."
STORE = "Golden Dragon Trading"
RMA = "RMA-250310-0A1B2C3D4E"
SECRETS = (TITLE, BUYER_LAST, BUYER_USERNAME, DESCRIPTION, STORE, RMA)

ONLY_THE_BUYER = "Only the buyer who opened this dispute can do this."
ONLY_THE_STORE = "Only the store that sold this item can do this."
NOT_A_PARTY = "You are not a party to this dispute."

# The people, in the order of the matrix (DESIGN §5).
STAFF_FLAG_ONLY = "staff_flag_only"  # (a)
STAFF_VIEW = "staff_view"  # (b)
STAFF_VIEW_CHANGE = "staff_view_change"  # (c)
STAFF_DECIDER = "staff_decider"  # (d)
SUPERUSER = "superuser"  # (e)
BUYER, STORE_SELLER, OTHER_BUYER, OTHER_SELLER = "buyer", "store_seller", "other_buyer", "other_seller"
# Two more staff profiles the rule covers: a permission without the view permission.
STAFF_CHANGE_ONLY = "staff_change_only"
STAFF_DECIDE_ONLY = "staff_decide_only"

STAFF_PERMISSIONS = {
    STAFF_FLAG_ONLY: [],
    STAFF_VIEW: [VIEW],
    STAFF_VIEW_CHANGE: [VIEW, CHANGE],
    STAFF_DECIDER: [VIEW, CHANGE, DECIDE],
    STAFF_CHANGE_ONLY: [CHANGE],
    STAFF_DECIDE_ONLY: [DECIDE],
}
NOT_STAFF = (BUYER, STORE_SELLER, OTHER_BUYER, OTHER_SELLER)
PARTIES = (BUYER, STORE_SELLER)
VIEWING_STAFF = (STAFF_VIEW, STAFF_VIEW_CHANGE, STAFF_DECIDER, SUPERUSER)
WRITING_STAFF = (STAFF_VIEW_CHANGE, STAFF_DECIDER, SUPERUSER)
DECIDING_STAFF = (STAFF_DECIDER, SUPERUSER)
NOT_VIEWING = (OTHER_BUYER, OTHER_SELLER, STAFF_FLAG_ONLY, STAFF_CHANGE_ONLY, STAFF_DECIDE_ONLY)
EVERYONE = PARTIES + VIEWING_STAFF + NOT_VIEWING


def matrix(expected: dict[str, object], bugs: dict[str, str] | None = None) -> list:
    """``(who, expected)`` for everyone; a known bug marks its row as an expected failure."""
    assert set(expected) == set(EVERYONE), set(EVERYONE) ^ set(expected)
    return [pytest.param(who, expected[who], id=who,
                         marks=[pytest.mark.xfail(strict=True, reason=bugs[who])] if who in (bugs or {}) else [])
            for who in EVERYONE]


def each(people, value) -> dict:
    return dict.fromkeys(people, value)


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def store():
    store = StoreFactory(name=STORE)
    WarehouseFactory(store=store, country="RU", city="Podolsk", name="Podolsk returns")
    return store


@pytest.fixture
def buyer():
    return BuyerFactory(username=BUYER_USERNAME, first_name=BUYER_FIRST, last_name=BUYER_LAST)


@pytest.fixture
def seller(store):
    return SellerFactory(store=store)


@pytest.fixture
def make_dispute(buyer, store):
    def make(state: str, **fields) -> Dispute:
        line = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
        OrderLine.objects.filter(pk=line.pk).update(title=TITLE)
        line.refresh_from_db()
        fields = {"kind": Dispute.Kind.REFUND_ONLY, "route": Dispute.Route.NONE, **fields}
        return DisputeFactory(order_line=line, state=state, description=DESCRIPTION, **fields)

    return make


@pytest.fixture
def rejected(make_dispute, seller) -> Dispute:
    """A refund-only claim with a photo, rejected by the seller: the buyer may escalate."""
    dispute = make_dispute(S.REJECTED, seller_answer="It was intact when we shipped it.")
    DisputeAttachmentFactory(dispute=dispute)
    return dispute


@pytest.fixture
def awaiting_seller(make_dispute) -> Dispute:
    dispute = make_dispute(S.AWAITING_SELLER)
    DisputeAttachmentFactory(dispute=dispute)
    return dispute


@pytest.fixture
def escalated(make_dispute) -> Dispute:
    dispute = make_dispute(S.ESCALATED)
    DisputeAttachmentFactory(dispute=dispute)
    return dispute


@pytest.fixture
def with_instructions(make_dispute, store, seller) -> Dispute:
    """A local return whose seller sent return instructions (the return slip exists)."""
    dispute = make_dispute(S.AWAITING_BUYER_SHIPMENT, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL)
    ReturnInstructions.objects.create(dispute=dispute, warehouse=store.warehouses.get(), method="drop_off",
                                      carrier="CDEK", text="Drop it off.", rma_code=RMA, issued_by=seller,
                                      ship_by=timezone.now() + timedelta(days=10))
    return dispute


def signed_in(who: str, *, buyer, seller) -> tuple[Client, object]:
    if who in STAFF_PERMISSIONS:
        person = StaffFactory(permissions=STAFF_PERMISSIONS[who])
    else:
        person = {
            BUYER: lambda: buyer,
            STORE_SELLER: lambda: seller,
            OTHER_BUYER: lambda: BuyerFactory(),
            OTHER_SELLER: lambda: SellerFactory(),  # a member of another store
            SUPERUSER: lambda: StaffFactory(is_superuser=True),
        }[who]()
    browser = Client()
    browser.force_login(person)
    return browser, person


def snapshot() -> dict:
    """Everything a write may change: compared before and after a refusal."""
    return {
        "disputes": list(Dispute.objects.order_by("pk").values()),
        "events": list(DisputeEvent.objects.order_by("pk").values()),
        "messages": list(DisputeMessage.objects.order_by("pk").values()),
        "attachments": list(DisputeAttachment.objects.order_by("pk").values_list("pk", flat=True)),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", flat=True)),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "refunded_amount")),
    }


def assert_shows_nothing_of_the_dispute(response, who: str) -> None:
    """Nothing the person did not know already: a page signed in as the store's member
    names its store, one signed in as the buyer names the buyer."""
    known = {STORE_SELLER: (STORE,), BUYER: (BUYER_LAST, BUYER_USERNAME)}.get(who, ())
    text = response.content.decode()
    assert [secret for secret in SECRETS if secret in text and secret not in known] == []


def messages_after(browser: Client, response) -> list[str]:
    """The flash messages a redirect leads to."""
    return [str(m) for m in browser.get(response["Location"]).context["messages"]]


def detail_url(dispute) -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk])


def admin_login(next_url: str) -> str:
    return f"{reverse('admin:login')}?next={next_url}"


def kinds(dispute) -> list[str]:
    return list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk").values_list("kind", flat=True))


# --- portal pages: seeing ---------------------------------------------------------------------

SEES = {**each(PARTIES + VIEWING_STAFF, 200), **each(NOT_VIEWING, 404)}


@pytest.mark.parametrize(("who", "status"), matrix(SEES))
def test_the_dispute_page(who, status, rejected, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)

    response = browser.get(detail_url(rejected))

    assert response.status_code == status
    if status == 200:
        assert TITLE in response.content.decode()
    else:
        assert_shows_nothing_of_the_dispute(response, who)


@pytest.mark.parametrize(("who", "status"), matrix(SEES))
def test_an_evidence_file(who, status, rejected, buyer, seller):
    attachment = rejected.attachments.get()
    browser, _person = signed_in(who, buyer=buyer, seller=seller)

    response = browser.get(reverse("disputes:attachment", args=[rejected.pk, attachment.pk]))

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == PNG
        response.close()
    else:
        assert_shows_nothing_of_the_dispute(response, who)


@pytest.mark.parametrize(("who", "status"), matrix(SEES))
def test_the_return_slip(who, status, with_instructions, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)

    response = browser.get(reverse("disputes:return_slip", args=[with_instructions.pk]))

    assert response.status_code == status
    if status == 200:
        assert RMA in response.content.decode()
    else:
        assert_shows_nothing_of_the_dispute(response, who)


# --- portal pages: writing ----------------------------------------------------------------------

# 302: the message is posted. 422: the page again, with why not (this person may see the dispute).
POSTS_A_MESSAGE = {**each(PARTIES + WRITING_STAFF, 302), STAFF_VIEW: 422, **each(NOT_VIEWING, 404)}


@pytest.mark.parametrize(("who", "status"), matrix(POSTS_A_MESSAGE))
def test_posting_a_message(who, status, rejected, buyer, seller):
    browser, person = signed_in(who, buyer=buyer, seller=seller)
    before = snapshot()

    response = browser.post(reverse("disputes:dispute_message", args=[rejected.pk]), {"body": "Any news?"})

    assert response.status_code == status
    if status == 302:
        assert response["Location"] == detail_url(rejected) + "#messages"
        assert list(DisputeMessage.objects.values_list("dispute", "author", "body")) == [
            (rejected.pk, person.pk, "Any news?")]
        told = {BUYER: [seller.pk], STORE_SELLER: [buyer.pk]}.get(who, [buyer.pk, seller.pk])
        assert list(Notification.objects.order_by("pk").values_list("recipient", flat=True)) == told
        assert kinds(rejected) == []
        return
    assert snapshot() == before
    if status == 422:
        assert response.context["message_form"].non_field_errors() == [NOT_A_PARTY]
    else:
        assert_shows_nothing_of_the_dispute(response, who)


# A buyer's action on a rejected claim.
ESCALATES = {BUYER: 302, STORE_SELLER: ONLY_THE_BUYER, **each(VIEWING_STAFF, ONLY_THE_BUYER),
             **each(NOT_VIEWING, 404)}


@pytest.mark.parametrize(("who", "expected"), matrix(ESCALATES))
def test_posting_an_escalation(who, expected, rejected, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)
    before = snapshot()

    response = browser.post(reverse("disputes:dispute_action", args=[rejected.pk, "escalate"]),
                            {"reason": "It arrived torn."})

    if expected == 404:
        assert response.status_code == 404
        assert_shows_nothing_of_the_dispute(response, who)
        assert snapshot() == before
        return
    assert (response.status_code, response["Location"]) == (302, detail_url(rejected))
    if expected == 302:
        assert messages_after(browser, response) == ["Marketplace staff will review the dispute."]
        rejected.refresh_from_db()
        assert rejected.state == S.ESCALATED
        assert kinds(rejected) == ["escalated"]
        assert list(DisputeMessage.objects.values_list("author", "body")) == [(buyer.pk, "It arrived torn.")]
        assert list(Notification.objects.values_list("recipient", flat=True)) == [seller.pk]
    else:
        assert messages_after(browser, response) == [expected]
        assert snapshot() == before


# A seller's action on a claim waiting for the seller.
ACCEPTS = {STORE_SELLER: 302, BUYER: ONLY_THE_STORE, **each(VIEWING_STAFF, ONLY_THE_STORE), **each(NOT_VIEWING, 404)}


@pytest.mark.parametrize(("who", "expected"), matrix(ACCEPTS))
def test_posting_an_acceptance(who, expected, awaiting_seller, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)
    before = snapshot()

    response = browser.post(reverse("disputes:dispute_action", args=[awaiting_seller.pk, "accept"]))

    if expected == 404:
        assert response.status_code == 404
        assert_shows_nothing_of_the_dispute(response, who)
        assert snapshot() == before
        return
    assert (response.status_code, response["Location"]) == (302, detail_url(awaiting_seller))
    if expected == 302:
        assert messages_after(browser, response) == ["You accepted the dispute; the refund is being paid."]
        awaiting_seller.refresh_from_db()
        assert awaiting_seller.state == S.REFUND_PENDING
        assert kinds(awaiting_seller) == ["accepted"]
        assert list(Refund.objects.values_list("dispute", "amount", "decided_by")) == [
            (awaiting_seller.pk, PAID, seller.pk)]
    else:
        assert messages_after(browser, response) == [expected]
        assert snapshot() == before


# Withdrawing is for buyers: everyone else is refused by role before the dispute is looked up
# (the same 403 for any number, so nothing is told about this one).
WITHDRAWS = {BUYER: 302, OTHER_BUYER: 404, **each((STORE_SELLER, OTHER_SELLER), 403),
             **each(VIEWING_STAFF + (STAFF_FLAG_ONLY, STAFF_CHANGE_ONLY, STAFF_DECIDE_ONLY), 403)}


@pytest.mark.parametrize(("who", "status"), matrix(WITHDRAWS))
def test_posting_a_withdrawal(who, status, awaiting_seller, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)
    before = snapshot()

    response = browser.post(reverse("disputes:dispute_withdraw", args=[awaiting_seller.pk]))

    assert response.status_code == status
    if status == 302:
        awaiting_seller.refresh_from_db()
        assert (awaiting_seller.state, awaiting_seller.resolution) == (S.CLOSED, Dispute.Resolution.WITHDRAWN)
        assert kinds(awaiting_seller) == ["withdrawn"]
    else:
        assert_shows_nothing_of_the_dispute(response, who)
        assert snapshot() == before


# --- the admin ----------------------------------------------------------------------------------

CHANGELIST = reverse("admin:disputes_dispute_changelist")
# Non-staff are sent to the admin's sign-in page; staff without the view permission get 403.
ADMIN_SEES = {**each(NOT_STAFF, "sign in"), **each(VIEWING_STAFF, 200),
              **each((STAFF_FLAG_ONLY, STAFF_CHANGE_ONLY, STAFF_DECIDE_ONLY), 403)}


@pytest.mark.parametrize(("who", "expected"), matrix(ADMIN_SEES))
def test_the_admin_changelist(who, expected, rejected, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)

    response = browser.get(CHANGELIST)

    if expected == "sign in":
        assert (response.status_code, response["Location"]) == (302, admin_login(CHANGELIST))
        assert response.content == b""
    else:
        assert response.status_code == expected
        if expected == 200:
            assert TITLE in response.content.decode()
        else:
            assert_shows_nothing_of_the_dispute(response, who)


@pytest.mark.parametrize(("who", "expected"), matrix(ADMIN_SEES))
def test_the_admin_change_page(who, expected, rejected, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)
    url = reverse("admin:disputes_dispute_change", args=[rejected.pk])

    response = browser.get(url)

    if expected == "sign in":
        assert (response.status_code, response["Location"]) == (302, admin_login(url))
        assert response.content == b""
    else:
        assert response.status_code == expected
        if expected == 200:
            assert TITLE in response.content.decode()
        else:
            assert_shows_nothing_of_the_dispute(response, who)


DECIDES = {**each(NOT_STAFF, "sign in"), **each(DECIDING_STAFF, 200),
           **each((STAFF_FLAG_ONLY, STAFF_VIEW, STAFF_VIEW_CHANGE, STAFF_CHANGE_ONLY, STAFF_DECIDE_ONLY), 403)}


@pytest.mark.parametrize(("who", "expected"), matrix(DECIDES))
def test_the_decide_page(who, expected, escalated, buyer, seller):
    browser, _person = signed_in(who, buyer=buyer, seller=seller)
    url = reverse("admin:disputes_dispute_decide", args=[escalated.pk])

    response = browser.get(url)

    if expected == "sign in":
        assert (response.status_code, response["Location"]) == (302, admin_login(url))
        assert response.content == b""
    else:
        assert response.status_code == expected
        if expected == 200:
            assert TITLE in response.content.decode()
        else:
            assert_shows_nothing_of_the_dispute(response, who)




@pytest.mark.parametrize(("who", "expected"), matrix(DECIDES))
def test_posting_a_decision(who, expected, escalated, buyer, seller):
    browser, person = signed_in(who, buyer=buyer, seller=seller)
    url = reverse("admin:disputes_dispute_decide", args=[escalated.pk])
    before = snapshot()

    response = browser.post(url, {"decision": "refund_full", "reason": "Torn on arrival: refund in full."})

    if expected == 200:  # allowed: decided, and back to the dispute in the admin
        assert (response.status_code, response["Location"]) == (
            302, reverse("admin:disputes_dispute_change", args=[escalated.pk]))
        escalated.refresh_from_db()
        assert escalated.state == S.REFUND_PENDING
        assert kinds(escalated) == ["staff_decided"]
        assert list(Refund.objects.values_list("dispute", "amount", "status", "decided_by")) == [
            (escalated.pk, PAID, Refund.Status.PENDING, person.pk)]
        return
    if expected == "sign in":
        assert (response.status_code, response["Location"]) == (302, admin_login(url))
    else:
        assert response.status_code == expected
        assert_shows_nothing_of_the_dispute(response, who)
    assert snapshot() == before
