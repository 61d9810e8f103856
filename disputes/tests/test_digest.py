"""The sellers' weekly digest: who gets it, what it lists, at most once per person per week,
released for a retry when sending fails or the run is cut short, the same window however late
the retry, and queries that do not grow with the data."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.tests.factories import StoreFactory
from disputes.digest import DigestsFailed, week_of, weekly_digests_send
from disputes.models import Dispute
from disputes.tasks import send_weekly_digests
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import WeeklyDigest
from returns_portal.celery import app as celery_app
from returns_portal.testing import together

MONDAY = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)  # 08:00 in Moscow
FAILING_BACKEND = "notifications.tests.email_backends.FailingEmailBackend"
INTERRUPTED_BACKEND = f"{__name__}.InterruptedBackend"


class InterruptedBackend(locmem.EmailBackend):
    """Delivers ``allowed`` messages (into ``mail.outbox``), then raises ``error`` (a test sets both)."""

    allowed = 0
    error: BaseException = Exception("not set")

    def send_messages(self, messages):
        if len(mail.outbox) >= self.allowed:
            raise self.error
        return super().send_messages(messages)


def dispute(store, **kwargs) -> Dispute:
    return DisputeFactory(order_line=disputable_line(store=store), **kwargs)


def a_store_with_a_week(now, *, waiting=1, opened_closed=True):
    store = StoreFactory()
    for i in range(waiting):
        dispute(store, deadline_at=now + timedelta(days=2 + i), created_at=now - timedelta(days=10))
    if opened_closed:
        dispute(store, state=Dispute.State.ESCALATED, created_at=now - timedelta(days=2),
                deadline_at=now + timedelta(days=5))
        dispute(store, state=Dispute.State.CLOSED, resolution=Dispute.Resolution.REJECTED, deadline_at=None,
                created_at=now - timedelta(days=30), closed_at=now - timedelta(days=3))
    return store


def test_the_digest_runs_on_monday_morning_in_the_sites_time_zone():
    (entry,) = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == send_weekly_digests.name]
    schedule = entry["schedule"]
    assert (schedule.day_of_week, schedule.hour, schedule.minute) == ({1}, {8}, {0})
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE


def test_a_week_starts_on_monday_in_the_sites_time_zone():
    assert week_of(datetime(2026, 3, 8, 20, 59, tzinfo=UTC)).isoformat() == "2026-03-02"  # Sunday 23:59 in Moscow
    assert week_of(datetime(2026, 3, 8, 21, 0, tzinfo=UTC)).isoformat() == "2026-03-09"  # Monday 00:00 in Moscow
    assert week_of(datetime(2026, 3, 15, 20, 0, tzinfo=UTC)).isoformat() == "2026-03-09"


@pytest.mark.django_db
def test_each_store_member_who_wants_it_gets_their_stores_week_and_nobody_else(mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY, waiting=2)
        other = a_store_with_a_week(MONDAY, waiting=0, opened_closed=False)  # nothing to say
        dispute(other, state=Dispute.State.CLOSED, resolution=Dispute.Resolution.REJECTED, deadline_at=None,
                created_at=MONDAY - timedelta(days=40), closed_at=MONDAY - timedelta(days=20))  # an old ending
        anna, boris = SellerFactory(store=store, language="en"), SellerFactory(store=store, language="ru")
        SellerFactory(store=store, email_digest=False)
        SellerFactory(store=store, is_active=False)
        SellerFactory(store=store, email="")
        SellerFactory(store=store, is_api_account=True)
        SellerFactory(store=StoreFactory(is_active=False))
        SellerFactory(store=other)
        BuyerFactory()

        assert send_weekly_digests.delay().get() == 2

    assert sorted(m.to[0] for m in mailoutbox) == sorted([anna.email, boris.email])
    english = next(m for m in mailoutbox if m.to == [anna.email])
    assert english.subject == f"Your week on the returns portal: {store.name}"
    assert "Waiting for your store (2)" in english.body
    assert "Opened in the past week (1)" in english.body
    assert "Closed in the past week (1)" in english.body
    assert "Closed as rejected" in english.body
    titles = [d.order_line.title for d in Dispute.objects.filter(store=store).order_by("deadline_at")]
    for title in titles:
        assert title in english.body
    russian = next(m for m in mailoutbox if m.to == [boris.email])
    assert russian.subject == f"Ваша неделя на портале возвратов: {store.name}"
    assert set(WeeklyDigest.objects.values_list("recipient_id", "week", "sent_at")) == {
        (anna.pk, MONDAY.date(), MONDAY), (boris.pk, MONDAY.date(), MONDAY)}


@pytest.mark.django_db
def test_waiting_disputes_are_listed_soonest_deadline_first_with_their_deadline(mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        store = StoreFactory()
        later = dispute(store, deadline_at=MONDAY + timedelta(days=4), created_at=MONDAY - timedelta(days=9))
        sooner = dispute(store, state=Dispute.State.RETURN_IN_TRANSIT, deadline_at=MONDAY + timedelta(days=1),
                         created_at=MONDAY - timedelta(days=20))
        SellerFactory(store=store, language="en")
        dispute(store, state=Dispute.State.AWAITING_BUYER_SHIPMENT, created_at=MONDAY - timedelta(days=9),
                deadline_at=MONDAY + timedelta(days=3))  # waits for the buyer, not the store

        assert weekly_digests_send() == 1

    body = mailoutbox[0].body
    assert body.index(f"#{sooner.pk} ") < body.index(f"#{later.pk} ")
    assert "due by 10 Mar 2026, 08:00 (1 day left)" in body
    assert "Waiting for your store (2)" in body and "Opened in the past week (0)" in body


@pytest.mark.django_db
def test_run_twice_in_a_week_a_person_gets_one_digest_and_the_next_week_another(mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        seller = SellerFactory(store=store)
        assert weekly_digests_send() == 1
    with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
        assert weekly_digests_send() == 0
    with time_machine.travel(MONDAY + timedelta(days=6, hours=12), tick=False):  # Sunday: the same week
        assert weekly_digests_send() == 0
    assert len(mailoutbox) == 1
    with time_machine.travel(MONDAY + timedelta(days=7), tick=False):
        assert weekly_digests_send() == 1
    assert [m.to for m in mailoutbox] == [[seller.email]] * 2


@pytest.mark.django_db
def test_a_person_claimed_by_another_run_is_left_to_it(mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        taken, free = SellerFactory(store=store), SellerFactory(store=store)
        WeeklyDigest.objects.create(recipient=taken, week=MONDAY.date(), claim="another-run")
        assert weekly_digests_send() == 1
    assert [m.to for m in mailoutbox] == [[free.email]]
    assert WeeklyDigest.objects.get(recipient=taken).sent_at is None  # the other run's row, untouched


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_and_the_retry_sends_it_once(settings, mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        seller = SellerFactory(store=store)
        settings.EMAIL_BACKEND = FAILING_BACKEND
        with pytest.raises(DigestsFailed):
            weekly_digests_send()
        assert WeeklyDigest.objects.count() == 0
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert weekly_digests_send() == 1
        assert weekly_digests_send() == 0
    assert [m.to for m in mailoutbox] == [[seller.email]]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [SoftTimeLimitExceeded(), SystemExit(1)], ids=["soft-time-limit", "worker-exit"])
def test_a_run_cut_short_leaves_those_not_sent_to_the_next_run_and_nobody_gets_two(settings, mailoutbox,
                                                                                monkeypatch, error):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        people = [SellerFactory(store=store) for _ in range(4)]
        settings.EMAIL_BACKEND = INTERRUPTED_BACKEND
        monkeypatch.setattr(InterruptedBackend, "allowed", 2)
        monkeypatch.setattr(InterruptedBackend, "error", error)
        with pytest.raises(type(error)):
            weekly_digests_send()
        first = [m.to[0] for m in mailoutbox]
        assert first == [p.email for p in people[:2]]
        assert set(WeeklyDigest.objects.values_list("recipient_id", "sent_at")) == {
            (p.pk, MONDAY) for p in people[:2]}  # the third's claim released, the fourth's never made
    with time_machine.travel(MONDAY + timedelta(minutes=30), tick=False):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert weekly_digests_send() == 2
        assert weekly_digests_send() == 0
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)  # each exactly once
    assert WeeklyDigest.objects.filter(sent_at__isnull=False).count() == 4


@pytest.mark.django_db(transaction=True)  # autocommit, as in the worker
def test_cut_short_after_an_e_mail_went_out_but_before_its_stamp_keeps_that_claim(mailoutbox):
    stamps = []

    def soft_time_limit_on_the_second_stamp(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "weeklydigest" in sql:
            stamps.append(sql)
            if len(stamps) == 2:
                raise SoftTimeLimitExceeded()
        return execute(sql, params, many, context)

    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        people = [SellerFactory(store=store) for _ in range(4)]
        with connection.execute_wrapper(soft_time_limit_on_the_second_stamp), pytest.raises(SoftTimeLimitExceeded):
            weekly_digests_send()
        assert set(WeeklyDigest.objects.values_list("recipient_id", "sent_at")) == {
            (people[0].pk, MONDAY), (people[1].pk, None)}  # the second's e-mail went out: its claim stays
        assert weekly_digests_send() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)


@pytest.mark.django_db
def test_one_failed_send_does_not_stop_the_others_and_the_retry_sends_only_it(settings, mailoutbox, monkeypatch):
    with time_machine.travel(MONDAY, tick=False):
        store = a_store_with_a_week(MONDAY)
        people = [SellerFactory(store=store) for _ in range(3)]
        settings.EMAIL_BACKEND = INTERRUPTED_BACKEND
        monkeypatch.setattr(InterruptedBackend, "allowed", 1)
        monkeypatch.setattr(InterruptedBackend, "error", ConnectionResetError("the mail server hung up"))
        with pytest.raises(DigestsFailed):
            weekly_digests_send()
        assert [m.to[0] for m in mailoutbox] == [people[0].email]
        assert set(WeeklyDigest.objects.values_list("recipient_id", flat=True)) == {people[0].pk}
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert weekly_digests_send() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)


@pytest.mark.django_db
def test_a_retry_hours_later_covers_the_same_week_the_one_before_monday(settings, mailoutbox):
    week_start = datetime(2026, 3, 8, 21, 0, tzinfo=UTC)  # Monday 9 March 00:00 in Moscow
    with time_machine.travel(MONDAY - timedelta(days=30), tick=False):
        store = StoreFactory()
        seller = SellerFactory(store=store, language="en")

        def titled(at, state=Dispute.State.ESCALATED, **kwargs) -> str:
            return dispute(store, state=state, created_at=at, deadline_at=MONDAY + timedelta(days=5),
                           **kwargs).order_line.title

        opened_early = titled(week_start - timedelta(days=7) + timedelta(hours=1))  # last Monday 01:00
        opened_late = titled(week_start - timedelta(minutes=1))  # Sunday 23:59
        opened_too_early = titled(week_start - timedelta(days=7) - timedelta(minutes=1))  # the week before
        opened_this_week = titled(MONDAY + timedelta(hours=2))  # after the first run, before the retry
        closed = dict(state=Dispute.State.CLOSED, resolution=Dispute.Resolution.REJECTED)
        closed_early = titled(MONDAY - timedelta(days=40), closed_at=week_start - timedelta(days=7), **closed)
        closed_this_week = titled(MONDAY - timedelta(days=40), closed_at=MONDAY + timedelta(hours=3), **closed)
    with time_machine.travel(MONDAY, tick=False):
        settings.EMAIL_BACKEND = FAILING_BACKEND
        with pytest.raises(DigestsFailed):
            weekly_digests_send()
    with time_machine.travel(MONDAY + timedelta(hours=5), tick=False):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert weekly_digests_send() == 1
    (message,) = mailoutbox
    assert message.to == [seller.email]
    body = message.body
    assert "Opened in the past week (2)" in body and "Closed in the past week (1)" in body
    for title in (opened_early, opened_late, closed_early):
        assert title in body
    for title in (opened_too_early, opened_this_week, closed_this_week):
        assert title not in body


def test_the_task_retries_when_some_digests_failed_or_the_run_was_cut_short():
    assert set(send_weekly_digests.autoretry_for) == {DigestsFailed, SoftTimeLimitExceeded}
    assert send_weekly_digests.max_retries >= 3


@pytest.mark.django_db
def test_nothing_to_say_nothing_sent_nothing_claimed(mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        SellerFactory(store=StoreFactory())
        assert weekly_digests_send() == 0
    assert mailoutbox == [] and WeeklyDigest.objects.count() == 0


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_disputes_and_grow_by_a_claim_and_a_stamp_per_person(mailoutbox):
    def run(stores: int, waiting: int, people: int) -> int:
        with time_machine.travel(MONDAY, tick=False):
            for _ in range(stores):
                store = a_store_with_a_week(MONDAY, waiting=waiting)
                for i in range(people):
                    SellerFactory(store=store, language="ru" if i % 2 else "en")
            with CaptureQueriesContext(connection) as queries:
                sent = weekly_digests_send()
        assert sent == stores * people
        WeeklyDigest.objects.all().delete()
        Dispute.objects.all().delete()
        return len(queries)

    small = run(1, 1, 1)
    mailoutbox.clear()
    per_person = run(1, 1, 2) - small
    # Each person's claim is its own insert (in a savepoint here, in the test's transaction) and
    # its stamp its own update: written one at a time, so a run cut short loses nobody's digest.
    assert per_person <= 4 and small - per_person <= 4
    mailoutbox.clear()
    assert run(4, 25, 5) == small + 19 * per_person  # 110 disputes, 20 people


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_runs_send_each_person_one_digest(mailoutbox):
    with time_machine.travel(MONDAY, tick=True):
        store = a_store_with_a_week(MONDAY)
        people = [SellerFactory(store=store) for _ in range(6)]
    def run() -> int:
        # The moment is passed, not travelled to: time_machine's clock is one for the whole process.
        return weekly_digests_send(now=MONDAY + timedelta(minutes=1))

    outcomes = [value for _kind, value in together(*[run] * 4, timeout=20)]

    assert all(isinstance(o, int) for o in outcomes) and sum(outcomes) == len(people), outcomes
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)
    assert WeeklyDigest.objects.filter(sent_at__isnull=False).count() == len(people)
