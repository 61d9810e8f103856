"""The staff's queues on the admin's front page: one click to the work that waits."""
from django import template

from ..models import Refund

register = template.Library()


@register.simple_tag(takes_context=True)
def refunds_awaiting_approval(context) -> int | None:
    """How many refunds wait for a second staff member (DESIGN §4); None for staff who
    may not approve them, so they are not shown a queue they cannot work."""
    user = context["request"].user
    if not (user.has_perm("disputes.pay_refund") and user.has_perm("disputes.view_refund")):
        return None
    return Refund.objects.filter(status=Refund.Status.AWAITING_APPROVAL).count()
