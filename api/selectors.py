from django.db.models import F, QuerySet

from disputes.lifecycle import Party, states_where
from disputes.models import Dispute, DisputeEvent
from disputes.presentation import inspection_findings, timeline
from disputes.selectors import disputes_visible_to

from .models import ApiKey


def store_api_keys(store_id: int) -> QuerySet[ApiKey]:
    """The store's keys for its members' list: active first, newest first."""
    return (ApiKey.objects.filter(store_id=store_id)
            .select_related("created_by", "revoked_by")
            .order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"))


def disputes_for_store(principal, *, filters: dict) -> QuerySet[Dispute]:
    """The disputes ``principal`` (a store's API key) may read, exactly as the store's members
    see them (``disputes_visible_to``), narrowed by the list's validated ``filters``. Joined:
    only the order, which is all a summary shows (each join more costs PostgreSQL more time to
    plan the query than to run it)."""
    disputes = disputes_visible_to(principal).select_related(None).select_related("order_line__order")
    if "state" in filters:
        disputes = disputes.filter(state=filters["state"])
    if "who" in filters:
        disputes = disputes.filter(state__in=states_where(Party(filters["who"])))
    if "route" in filters:
        disputes = disputes.filter(route=filters["route"])
    if "country" in filters:
        disputes = disputes.filter(order_line__order__delivery_country=filters["country"])
    if "updated_since" in filters:
        disputes = disputes.filter(updated_at__gte=filters["updated_since"])
    if "deadline_before" in filters:
        disputes = disputes.filter(deadline_at__lt=filters["deadline_before"])
    if "deadline_after" in filters:
        disputes = disputes.filter(deadline_at__gt=filters["deadline_after"])
    return disputes


def dispute_for_store(principal, pk: int) -> Dispute:
    """One of the store's disputes with what its API detail shows, in five queries however
    long its timeline: the timeline as the parties read it (never staff notes), the return
    leg, the inspection's findings in words, the refunds. Another store's: ``Dispute.DoesNotExist``."""
    dispute = (disputes_visible_to(principal).select_related(None)
               .select_related("order_line__order", "store", "buyer", "instructions", "shipment", "inspection")
               .get(pk=pk))
    events = DisputeEvent.objects.filter(dispute=dispute).for_parties().select_related("actor")
    dispute.timeline_entries = timeline(list(events), dispute, principal)
    dispute.refund_list = list(dispute.refunds.order_by("created_at", "id"))
    inspection = getattr(dispute, "inspection", None)
    if inspection is not None:
        inspection.finding_list = inspection_findings(inspection)
    return dispute
