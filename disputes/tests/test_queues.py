"""The staff's queues (issue 10): each defined once in ``disputes.queues``, counted on the admin's
front page in two queries, each a link to its change list, shown only to staff who may see it."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, StaffFactory
from disputes.models import Dispute, Refund
from disputes.queues import (
    queue_counts,
    refunds_awaiting_approval,
    refunds_failed,
    staff_queue,
    unswept,
)
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import DisputeFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
S = Dispute.State
VIEW_BOTH = ["disputes.view_dispute", "disputes.view_refund"]


def staff(permissions=()) -> User:
    user = StaffFactory(permissions=list(permissions))
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


def dispute(state=S.AWAITING_SELLER, deadline=timedelta(days=3), **fields) -> Dispute:
    return DisputeFactory(state=state, deadline_at=None if deadline is None else NOW + deadline, **fields)


def refund(status: str, n: int) -> Refund:
    d = dispute(S.REFUND_PENDING, deadline=None)
    return Refund.objects.create(dispute=d, order_line=d.order_line, amount=Decimal("10.00"), currency="RUB",
                                 idempotency_key=f"test-{n}", status=status,
                                 paid_at=NOW if status == Refund.Status.PAID else None)


@pytest.fixture
def world(settings):
    """One dispute or refund of each situation, named."""
    settings.SWEEP_GRACE_MINUTES = 15
    return {
        "waiting": dispute(),
        "escalated": dispute(S.ESCALATED, timedelta(days=2)),
        # Staff missed their deadline; the sweep flagged it (its outcome leaves it escalated).
        "escalated_flagged": dispute(S.ESCALATED, -timedelta(days=1), overdue_flagged_at=NOW - timedelta(hours=23)),
        # The seller's deadline passed 10 minutes ago: the sweep has until the grace ends.
        "just_due": dispute(deadline=-timedelta(minutes=10)),
        # Passed 2 hours ago and nothing happened: the sweep is not running.
        "stuck": dispute(S.AWAITING_BUYER_SHIPMENT, -timedelta(hours=2)),
        "stuck_escalated": dispute(S.ESCALATED, -timedelta(hours=1)),
        "refunding": dispute(S.REFUND_PENDING, deadline=None),
        "closed": dispute(S.CLOSED, deadline=None, resolution=Dispute.Resolution.REJECTED, closed_at=NOW),
        "awaiting_approval": refund(Refund.Status.AWAITING_APPROVAL, 1),
        "failed": refund(Refund.Status.FAILED, 2),
        "pending": refund(Refund.Status.PENDING, 3),
        "paid": refund(Refund.Status.PAID, 4),
    }


def names(world, queryset) -> set[str]:
    ids = set(queryset.values_list("pk", flat=True))
    return {name for name, obj in world.items() if obj.pk in ids and type(obj) is queryset.model}


def test_each_queue_holds_exactly_its_rows(world):
    assert names(world, Dispute.objects.filter(staff_queue(NOW))) == {
        "escalated", "escalated_flagged", "just_due", "stuck", "stuck_escalated"}
    assert names(world, Dispute.objects.filter(unswept(NOW))) == {"stuck", "stuck_escalated"}
    assert names(world, Refund.objects.filter(refunds_awaiting_approval())) == {"awaiting_approval"}
    assert names(world, Refund.objects.filter(refunds_failed())) == {"failed"}


def test_counts_take_one_query_for_disputes_and_one_for_refunds(world, django_assert_num_queries):
    with django_assert_num_queries(2):
        counts = queue_counts(NOW)

    assert counts == {"staff": 5, "escalated": 3, "overdue": 4, "unswept": 2,
                      "refunds_awaiting_approval": 1, "refunds_failed": 1}


def test_the_unswept_queue_empties_once_the_sweep_ran(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enforce_deadlines(now=NOW)

    assert names(world, Dispute.objects.filter(unswept(NOW))) == set()
    assert names(world, Dispute.objects.filter(unswept(NOW + timedelta(hours=1)))) == set()


def test_the_grace_is_a_setting(world, settings):
    settings.SWEEP_GRACE_MINUTES = 5

    assert names(world, Dispute.objects.filter(unswept(NOW))) == {"just_due", "stuck", "stuck_escalated"}


# --- the admin's front page ---------------------------------------------------------------------


@pytest.fixture
def front(client, time_machine):
    time_machine.move_to(NOW, tick=False)

    def get(user):
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        return response.content.decode()
    return get


def row(key: str, count: int) -> str:
    return f'<tr data-queue="{key}" data-count="{count}"'


def test_the_front_page_links_every_queue_with_its_count(world, front):
    page = front(staff(VIEW_BOTH))
    disputes, refunds = reverse("admin:disputes_dispute_changelist"), reverse("admin:disputes_refund_changelist")

    assert row("staff", 5) + ">" in page
    assert f'<a href="{disputes}?queue=staff">Disputes for staff: escalated or past their deadline</a>' in page
    assert "3 escalated, 4 past their deadline" in page
    assert row("refunds_awaiting_approval", 1) + ">" in page
    assert f'<a href="{refunds}?approval=waiting">' in page
    assert row("refunds_failed", 1) + ">" in page
    assert f'<a href="{refunds}?status__exact=failed">' in page
    assert "Select them and choose “Pay now (or retry a failed payment)”." in page
    assert row("unswept", 2) + ' class="queue-alarm">' in page
    assert f'<a href="{disputes}?queue=unswept">' in page
    assert "check that the Celery beat and worker are running" in page
    # The app list stays, and the overview pages are linked.
    assert 'class="app-disputes module' in page
    assert f'href="{reverse("staff_dashboard")}"' in page and f'href="{reverse("staff_rules")}"' in page


def test_an_empty_unswept_queue_reads_ok(front, settings):
    dispute(deadline=-timedelta(minutes=10))

    page = front(staff(VIEW_BOTH))

    assert row("unswept", 0) + ' class="queue-ok">' in page
    assert "OK: the deadline sweep is running." in page
    assert row("staff", 1) + ">" in page


def test_staff_see_only_the_queues_they_may_see(world, front):
    disputes_only = front(staff(["disputes.view_dispute"]))
    refunds_only = front(staff(["disputes.view_refund"]))
    nothing = front(staff())

    assert "data-queue=\"staff\"" in disputes_only and "data-queue=\"unswept\"" in disputes_only
    assert "data-queue=\"refunds_" not in disputes_only
    assert "data-queue=\"refunds_awaiting_approval\"" in refunds_only and "data-queue=\"staff\"" not in refunds_only
    assert 'id="staff-queues"' not in nothing
    assert f'href="{reverse("staff_dashboard")}"' not in refunds_only + nothing  # the dashboard needs view_dispute
    assert f'href="{reverse("staff_rules")}"' in nothing


def test_a_buyer_is_sent_to_the_admin_login(client):
    client.force_login(BuyerFactory())

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("size", [5, 60])
def test_the_front_page_makes_as_many_queries_whatever_the_data(size, front, client, django_assert_max_num_queries):
    for n in range(size):
        dispute(S.ESCALATED if n % 2 else S.AWAITING_SELLER, -timedelta(days=1 + n % 3))
        refund(Refund.Status.FAILED if n % 2 else Refund.Status.AWAITING_APPROVAL, n)
    client.force_login(staff(VIEW_BOTH))

    with django_assert_max_num_queries(8):
        page = client.get(reverse("admin:index")).content.decode()

    assert row("unswept", size) in page
