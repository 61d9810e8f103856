"""What the webhooks tell people (rendered in the reader's language when read)."""
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from notifications.emails import Summary, register_summary
from notifications.kinds import Kind
from notifications.messages import Message, date_param, register

MESSAGES = {
    "webhooks.endpoint_disabled": Message(
        _("Webhook endpoint disabled: %(url)s"),
        ngettext_lazy(
            "%(count)d event in a row could not be delivered to %(url)s despite every retry, so the endpoint "
            "was disabled on %(date)s. Fix it, then enable it again on the webhooks page: the events it still "
            "owes are sent then.",
            "%(count)d events in a row could not be delivered to %(url)s despite every retry, so the endpoint "
            "was disabled on %(date)s. Fix it, then enable it again on the webhooks page: the events it still "
            "owes are sent then.",
            "count"),
        # An update about the store's own affairs, not money: the person's choice for outcomes decides
        # (only money overrides a choice). The bell and the webhooks page show it either way.
        Kind.OUTCOME),
}


def endpoint_summary(notification) -> Summary:
    """A disabled endpoint: its address and when it was disabled; the button opens its page."""
    params = notification.params or {}
    facts = [(_("Endpoint"), str(params.get("url", "")))]
    if params.get("date"):
        facts.append((_("Disabled on"), date_param(params["date"], params)))
    return Summary(facts=facts, next_step=str(_("Fix the endpoint, then enable it again on its page.")),
                   button_label=str(_("Open the webhook endpoint")))


def register_messages() -> None:
    register(MESSAGES)
    register_summary(MESSAGES, endpoint_summary)
