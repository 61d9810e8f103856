from django.db.models import F, Prefetch, QuerySet

from catalog.models import Warehouse
from catalog.selectors import marketplace_return_points, store_warehouses
from disputes.actions import conditions_of
from disputes.lifecycle import Party, states_where
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage, InstructionTemplate
from disputes.presentation import inspection_findings, timeline
from disputes.selectors import disputes_visible_to

from .models import ApiKey


def _keys_listed(**owner) -> QuerySet[ApiKey]:
    """Keys for their owners' list: active first, newest first."""
    return (ApiKey.objects.filter(**owner).select_related("created_by", "revoked_by")
            .order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"))


def store_api_keys(store_id: int) -> QuerySet[ApiKey]:
    """The store's keys, as its members see them listed."""
    return _keys_listed(store_id=store_id)


def staff_tokens(user) -> QuerySet[ApiKey]:
    """A member of staff's own tokens."""
    return _keys_listed(store__isnull=True, acts_as=user)


def disputes_for_store(account, *, filters: dict) -> QuerySet[Dispute]:
    """The disputes ``account`` (the account an API key acts as) may read, exactly as its store's members
    see them (``disputes_visible_to``), narrowed by the list's validated ``filters``. Joined:
    only the order, which is all a summary shows (each join more costs PostgreSQL more time to
    plan the query than to run it)."""
    disputes = disputes_visible_to(account).select_related(None).select_related("order_line__order")
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


def dispute_for_store(account, pk: int) -> Dispute:
    """One of the store's disputes with what its API detail shows, in seven queries however
    long its timeline: the timeline as the parties read it (never staff notes), the return
    leg, the inspection's findings in words, the refunds, the return conditions that apply.
    Another store's: ``Dispute.DoesNotExist``. Joined: what the detail shows, and the product's
    category (its return conditions)."""
    dispute = (disputes_visible_to(account).select_related(None)
               .select_related("order_line__order", "order_line__product__category", "store", "buyer",
                               "instructions", "shipment", "inspection")
               .get(pk=pk))
    events = DisputeEvent.objects.filter(dispute=dispute).for_parties().select_related("actor")
    dispute.timeline_entries = timeline(list(events), dispute, account)
    dispute.refund_list = list(dispute.refunds.order_by("created_at", "id"))
    dispute.condition_list = conditions_of(dispute)
    inspection = getattr(dispute, "inspection", None)
    if inspection is not None:
        inspection.finding_list = inspection_findings(inspection)
    return dispute


def messages_of(dispute: Dispute) -> QuerySet[DisputeMessage]:
    """The dispute's thread (the caller has read ``dispute`` through a scoped selector), with
    each message's author and files: two queries per page."""
    return (DisputeMessage.objects.filter(dispute=dispute).select_related("author")
            .prefetch_related(Prefetch("attachments", queryset=DisputeAttachment.objects.order_by("id"))))


def store_templates(account) -> QuerySet[InstructionTemplate]:
    """The instruction templates of ``account``'s store (none for a staff token)."""
    return (InstructionTemplate.objects.filter(store_id=account.store_id).select_related("warehouse")
            .order_by("name", "pk"))


def warehouses_for(account) -> list[Warehouse]:
    """Where ``account``'s store may send returns: its own warehouses (active or not), then the
    marketplace's active return points. Two queries."""
    own = list(store_warehouses(account.store_id)) if account.store_id else []
    return own + list(marketplace_return_points())
