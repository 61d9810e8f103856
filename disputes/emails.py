"""What an e-mail about a dispute shows beside its message: the dispute summary (item, amount,
state in words, the next step and its deadline for the reader), from the same lifecycle-derived
text the dispute page shows (``presentation.next_step``)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from notifications.emails import Summary
from returns_portal.formatting import local_datetime
from returns_portal.labels import choice_label
from returns_portal.money import format_money

from .models import Dispute


def dispute_facts(dispute: Dispute) -> list[tuple[str, str]]:
    """Item, order, request, amount and state: the dispute page's facts, as (label, words).
    Reads the order line and its order: select them with the dispute."""
    line = dispute.order_line
    return [
        (_("Item"), f"{line.title} × {line.quantity}"),
        (_("Order"), line.order.number),
        (_("Request"), dispute.kind_label),
        (_("Compensation asked"), format_money(dispute.amount, dispute.currency)),
        (_("State"), choice_label(Dispute.State, dispute.state)),
    ]


def dispute_summary(notification) -> Summary | None:
    """The summary of the dispute a notification is about, for its recipient; None when the
    notification names no dispute (a summary of several) or the dispute is gone."""
    from .presentation import next_step, time_left  # the page's words; presentation imports the services

    dispute_id = (notification.params or {}).get("dispute")
    if not isinstance(dispute_id, int):
        return None
    dispute = Dispute.objects.select_related("order_line__order").filter(pk=dispute_id).first()
    if dispute is None:
        return None
    step = next_step(dispute, notification.recipient)
    deadline = ""
    if step.deadline:
        deadline = f"{local_datetime(step.deadline)} ({time_left(step.deadline)})"
    return Summary(facts=dispute_facts(dispute), next_step=step.text, deadline=deadline,
                   button_label=_("Open the dispute"))
