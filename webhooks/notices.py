"""What the webhooks tell people (rendered in the reader's language when read)."""
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from notifications.messages import Message, register

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
            "count")),
}


def register_messages() -> None:
    register(MESSAGES)
