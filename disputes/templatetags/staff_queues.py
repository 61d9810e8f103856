"""The staff's queues on the admin's front page: one click to the work that waits."""
from django import template
from django.utils import timezone

from ..queues import Queue, front_page_queues

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_queues(context) -> list[Queue]:
    """The queues the reader may see, with their counts (two queries at most)."""
    return front_page_queues(context["request"].user, timezone.now())
