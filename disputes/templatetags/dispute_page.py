"""Pieces the dispute pages repeat per row, as tags rather than template loops with includes
(each ``{% include %}``, ``{% with %}`` and variable lookup costs: at 50 timeline entries and
50 messages with their files those were most of the page's time).

``{% state_badge dispute %}``: the dispute's state as a badge.
``{% thumb item %}``: an evidence file as a thumbnail link (a photo) or a named link (a video).
``{% timeline_items timeline %}``: the ``<li>`` of each timeline entry (``presentation.timeline``).
``{% message_items thread user %}``: the ``<article>`` of each message (``presentation.thread``).
``{% desk_rows rows %}``: the seller desk's table rows.

Everything shown is escaped by ``format_html`` (or ``linebreaksbr``, which escapes first).
"""
from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from disputes.models import Dispute
from returns_portal import formatting
from returns_portal.bulk_urls import url_by_pk
from returns_portal.labels import choice_label
from returns_portal.money import money_formatter

register = template.Library()


@register.simple_tag
def state_badge(dispute: Dispute) -> str:
    return format_html('<span class="status status--{}">{}</span>', dispute.state,
                       choice_label(Dispute.State, dispute.state))


def _thumb(item, url: str) -> str:
    if item.is_image:
        return format_html('<a href="{}" class="thumb"><img src="{}" alt="{}" loading="lazy"></a>',
                           url, url, item.original_name)
    return format_html('<a href="{}" class="thumb thumb--video">▶ {}</a>', url, item.original_name)


@register.simple_tag
def thumb(item) -> str:
    return _thumb(item, item.get_absolute_url())


def _iso(moment) -> str:
    """What ``{{ moment|date:'c' }}`` gives: the moment in the site's time zone, ISO 8601."""
    return timezone.localtime(moment).isoformat()


@register.simple_tag
def timeline_items(entries) -> str:
    rows = []
    for entry in entries:
        event = entry.event
        change = format_html('<div class="muted small">{} → {}</div>', *entry.change) if entry.change else ""
        note = format_html('<div class="quote small">{}</div>', linebreaksbr(entry.note)) if entry.note else ""
        rows.append(format_html(
            '<li><time datetime="{}">{}</time> — <strong>{}</strong> <span class="muted">{}</span>{}{}</li>',
            _iso(event.created_at), formatting.local_datetime(event.created_at), entry.what, entry.by, change, note))
    return mark_safe("\n".join(rows))  # nosec B308, B703: each row is built by format_html


@register.simple_tag
def message_items(thread, viewer) -> str:
    rows = []
    url_of = None
    for message, author in thread:
        files = message.attachments.all()
        thumbs = ""
        if files:
            url_of = url_of or url_by_pk("disputes:attachment", message.dispute_id)  # one dispute's files
            thumbs = format_html('<div class="thumbs">{}</div>',
                                 format_html_join("", "{}", ((_thumb(item, url_of(item.pk)),) for item in files)))
        body = format_html("<p>{}</p>", linebreaksbr(message.body)) if message.body else ""
        rows.append(format_html(
            '<article class="msg{}"><header><strong>{}</strong> <time class="muted small" datetime="{}">{}</time>'
            "</header>{}{}</article>",
            " msg--mine" if message.author_id == viewer.pk else "", author, _iso(message.created_at),
            formatting.day_month(message.created_at, with_time=True), body, thumbs))
    return mark_safe("\n".join(rows))  # nosec B308, B703: each row is built by format_html


@register.simple_tag
def desk_rows(rows) -> str:
    """The seller desk's ``<tr>`` per dispute: rows of (dispute, who must act, time left, the buyer's country)."""
    your_move = format_html('<br><span class="small">{}</span>', gettext("Your move"))
    url, money = url_by_pk("disputes:dispute_detail"), money_formatter()  # once for the page
    out = []
    for dispute, who, left, country in rows:
        line, buyer = dispute.order_line, dispute.buyer
        due = format_html('{}<br><strong class="small">{}</strong>',
                          formatting.day_month(dispute.deadline_at, with_time=True), left
                          ) if dispute.deadline_at and dispute.is_open else "—"
        out.append(format_html(
            '<tr><td><a href="{}">#{}</a><br><span class="muted small">{}</span></td>'
            '<td>{}<br><span class="muted small">{}</span></td>'
            '<td>{}<br><span class="muted small">{}</span></td>'
            '<td>{}</td><td class="num">{}</td><td>{}{}</td><td>{}</td></tr>',
            url(dispute.pk), dispute.pk, formatting.day_month(dispute.created_at),
            line.title, line.order.number,
            buyer.get_full_name() or buyer.username, country,
            dispute.kind_label, money(dispute.amount, dispute.currency),
            state_badge(dispute), your_move if who == "seller" else "", due))
    return mark_safe("\n".join(out))  # nosec B308, B703: each row is built by format_html
