"""``{% notification_items notifications %}``: the ``<li>`` of each notification on the list
page, built in Python (a template loop with two forms per row cost most of the page's time).
Everything shown is escaped by ``format_html`` (or ``linebreaksbr``, which escapes first)."""
from django import template
from django.template.defaultfilters import linebreaksbr
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from returns_portal.formatting import local_datetime

register = template.Library()


@register.simple_tag(takes_context=True)
def notification_items(context, notifications) -> str:
    request = context["request"]
    here = request.get_full_path()
    mark_read = reverse("notifications:mark_read")
    csrf = CsrfTokenNode().render(context)  # what {% csrf_token %} writes
    new, read = gettext("New"), gettext("Mark as read")
    rows = []
    for notification in notifications:
        unread = not notification.is_read
        subject = notification.subject
        title = format_html('<a href="{}">{}</a>', notification.url, subject) if notification.url else subject
        form = format_html(
            '<form method="post" action="{}" class="inline">{}<input type="hidden" name="id" value="{}">'
            '<input type="hidden" name="next" value="{}"><button type="submit" class="link">{}</button></form>',
            mark_read, csrf, notification.pk, here, read) if unread else ""
        rows.append(format_html(
            '<li class="notification{}"><div><h2 class="notification__subject">{}{}</h2>'
            '<p class="notification__body">{}</p><time class="muted" datetime="{}">{}</time></div>{}</li>',
            " notification--unread" if unread else "",
            format_html('<span class="badge badge--new">{}</span> ', new) if unread else "",
            title, linebreaksbr(notification.body), timezone.localtime(notification.created_at).isoformat(),
            local_datetime(notification.created_at), form))
    return mark_safe("\n".join(rows))  # nosec B308, B703: each row is built by format_html
