"""Small pieces the dispute pages repeat per row, as tags rather than includes in loops
(an ``{% include %}`` costs a template render of its own for each row).

``{% state_badge dispute %}``: the dispute's state as a badge.
``{% thumb item %}``: an evidence file as a thumbnail link (a photo) or a named link (a video).
"""
from django import template
from django.utils.html import format_html

from disputes.models import Dispute
from returns_portal.labels import choice_label

register = template.Library()


@register.simple_tag
def state_badge(dispute: Dispute) -> str:
    return format_html('<span class="status status--{}">{}</span>', dispute.state,
                       choice_label(Dispute.State, dispute.state))


@register.simple_tag
def thumb(item) -> str:
    url = item.get_absolute_url()
    if item.is_image:
        return format_html('<a href="{}" class="thumb"><img src="{}" alt="{}" loading="lazy"></a>',
                           url, url, item.original_name)
    return format_html('<a href="{}" class="thumb thumb--video">▶ {}</a>', url, item.original_name)
