"""What the dispute services tell people: one message per key and audience.

Services store the key and plain parameters (``notifications.messages``); the words below
are rendered in the reader's language when the notification is read or e-mailed.
Parameters: ``dispute`` (number), ``order`` (order number), ``title`` (the item),
``amount``/``offer`` with ``currency``, dates as ISO text (``deadline``, ``ship_by``),
``days`` (a deadline's length), and the specific ones named in each text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from notifications.emails import register_summary
from notifications.kinds import Kind
from notifications.messages import Message, register
from returns_portal.countries import country_name

from .models import Dispute


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def request_param(value: str, params: Mapping[str, Any]) -> str:
    """``"return:local"`` → "Return goods and money: Local return"."""
    kind, _sep, route = str(value).partition(":")
    label = _label(Dispute.Kind, kind)
    return f"{label}: {_label(Dispute.Route, route)}" if route else label


def state_param(value: str, params: Mapping[str, Any]) -> str:
    return _label(Dispute.State, value)


def reason_param(value: str, params: Mapping[str, Any]) -> str:
    """A buyer's reason code as its words: ``"damaged"`` → "Damaged"."""
    return _label(Dispute.Reason, value)


def address_param(value: Mapping[str, str], params: Mapping[str, Any]) -> str:
    """A warehouse as the pages show it: name, street address, city, country."""
    return address_text(value)


def address_lines(warehouse: Mapping[str, str]) -> list[str]:
    """A warehouse's address (``warehouse_params``) as the lines of a parcel label: name,
    street address, "city, country". Pages and notifications join them with commas
    (``address_text``), the return slip prints them line by line: one format everywhere."""
    place = [warehouse.get("city", ""), country_name(warehouse.get("country", ""))]
    parts = [warehouse.get("name", ""), warehouse.get("address", ""), ", ".join(part for part in place if part)]
    return [part for part in parts if part]


def address_text(warehouse: Mapping[str, str]) -> str:
    return ", ".join(address_lines(warehouse))


def warehouse_params(warehouse) -> dict[str, str]:
    return {"name": warehouse.name, "address": warehouse.address, "city": warehouse.city,
            "country": warehouse.country}


M = Message
# Each message's kind decides whether its recipient gets it by e-mail (notifications.kinds):
# MONEY — a refund decided (the seller accepted, an offer was accepted, the goods passed
#   inspection, a deadline or staff decided it) or paid, on either side: always e-mailed. A refund
#   waiting for a second staff member's approval is MONEY too: muting it would hold a buyer's money.
# MESSAGE — a message on the dispute. REMINDER — the reminder before a deadline.
# OUTCOME — every other update and decision. A new dispute for the seller is an OUTCOME, not a
#   reminder, although it starts the seller's clock: a seller who turns updates off still gets the
#   reminder a day before that deadline (the REMINDER kind), and the desk lists it.
REMINDER, MESSAGE, OUTCOME, MONEY = Kind.REMINDER, Kind.MESSAGE, Kind.OUTCOME, Kind.MONEY

MESSAGES = {
    # Opening, withdrawing, reopening
    "disputes.opened.seller": M(
        _("New dispute on order %(order)s"),
        _("%(buyer)s opened a dispute (%(request)s) on “%(title)s” for %(amount)s. Please respond by "
          "%(deadline)s."), OUTCOME),
    "disputes.opened.buyer": M(
        _("Your dispute on order %(order)s is open"), _("The seller must respond by %(deadline)s."), OUTCOME),
    "disputes.withdrawn.seller": M(
        _("Dispute #%(dispute)s was withdrawn"),
        _("The buyer withdrew the dispute; nothing more is needed from you unless they reopen it."), OUTCOME),
    "disputes.reopened.seller": M(
        _("Dispute #%(dispute)s was reopened"),
        _("The buyer reopened the dispute. It continues where it stopped: %(state)s. Next deadline: "
          "%(deadline)s."), OUTCOME),
    # Return instructions: the same words whoever issued them
    "disputes.instructions_sent.buyer": M(
        _("Return instructions for dispute #%(dispute)s"),
        _("Send the goods to %(warehouse)s with %(carrier)s by %(ship_by)s. Your RMA code is %(rma)s."), OUTCOME),
    "disputes.instructions_issued.seller": M(
        _("Dispute #%(dispute)s: deadline missed"),
        _("You did not send return instructions within %(days)s days, so default instructions were issued: "
          "%(warehouse)s, RMA code %(rma)s."), OUTCOME),
    # The seller's answers and the buyer's replies
    "disputes.accepted.buyer": M(
        _("The seller accepted dispute #%(dispute)s"), _("Your refund of %(amount)s is on its way."), MONEY),
    "disputes.counter_offered.buyer": M(
        _("Counter-offer on dispute #%(dispute)s"),
        _("The seller offers %(offer)s. Accept it or escalate by %(deadline)s."), OUTCOME),
    "disputes.rejected.buyer": M(
        _("The seller rejected dispute #%(dispute)s"),
        _("Reason: %(reason)s Accept or escalate to the marketplace by %(deadline)s."), OUTCOME),
    "disputes.shipped.seller": M(
        _("Return on its way: dispute #%(dispute)s"),
        _("The buyer shipped the goods with %(carrier)s, tracking %(tracking)s. Confirm receipt and inspect them "
          "by %(deadline)s."), OUTCOME),
    "disputes.offer_accepted.seller": M(
        _("Counter-offer accepted: dispute #%(dispute)s"), _("The buyer accepted %(offer)s."), MONEY),
    "disputes.rejection_accepted.seller": M(
        _("Dispute #%(dispute)s closed"), _("The buyer accepted your answer."), OUTCOME),
    "disputes.escalated.seller": M(
        _("Dispute #%(dispute)s was escalated"), _("The buyer asked marketplace staff to decide."), OUTCOME),
    "disputes.escalated.staff": M(
        _("Escalated dispute #%(dispute)s needs a decision"), "%(reason)s", OUTCOME),
    # Inspection of the returned goods
    "disputes.inspected_accepted.buyer": M(
        _("Your return was inspected: dispute #%(dispute)s"),
        _("Your return was received and meets the return conditions: the refund is on its way."), MONEY),
    "disputes.inspected_rejected.buyer": M(
        _("Your return was inspected: dispute #%(dispute)s"),
        ngettext_lazy(
            "Your return did not meet %(count)d return condition. See which one on the dispute page; accept or "
            "escalate to the marketplace by %(deadline)s.",
            "Your return did not meet %(count)d return conditions. See which ones on the dispute page; accept or "
            "escalate to the marketplace by %(deadline)s.", "count"), OUTCOME),
    "disputes.inspected_review.buyer": M(
        _("Your return was inspected: dispute #%(dispute)s"),
        _("Your return was received; marketplace staff will decide by %(deadline)s."), OUTCOME),
    "disputes.inspected.seller": M(_("Dispute #%(dispute)s inspected"), "%(outcome)s", OUTCOME),
    "disputes.inspected_review.staff": M(
        _("Inspection of dispute #%(dispute)s needs a decision"), "%(notes)s", OUTCOME),
    # Marketplace staff
    "disputes.staff_refunded": M(
        _("Decision on dispute #%(dispute)s"),
        _("Marketplace staff decided a refund of %(amount)s. Reason: %(reason)s"), MONEY),
    "disputes.staff_rejected": M(
        _("Decision on dispute #%(dispute)s"),
        _("Marketplace staff rejected the dispute. Reason: %(reason)s"), OUTCOME),
    "disputes.deadline_extended": M(
        _("New deadline on dispute #%(dispute)s"),
        _("Marketplace staff moved the deadline of the next step on “%(title)s” to %(deadline)s. Reason: "
          "%(reason)s"), OUTCOME),
    "disputes.reclassified": M(
        _("The reason for dispute #%(dispute)s was changed"),
        _("Marketplace staff changed the reason for the dispute on “%(title)s” from “%(from_reason)s” to "
          "“%(to_reason)s”. Why: %(why)s"), OUTCOME),
    "disputes.manual_refund.buyer": M(
        _("A refund on dispute #%(dispute)s"),
        _("Marketplace staff decided to refund you %(amount)s for “%(title)s”. Reason: %(reason)s You will be "
          "told when it is paid."), MONEY),
    "disputes.refund_awaits_approval.staff": M(
        _("Refund on dispute #%(dispute)s waits for your approval"),
        _("A refund of %(amount)s was decided by %(decided_by)s and needs a second staff member's approval "
          "before it is paid."), MONEY),
    # Money
    "disputes.refund_paid.buyer": M(_("You were refunded"), _("%(amount)s were refunded for “%(title)s”."), MONEY),
    "disputes.refund_paid.seller": M(
        _("Dispute #%(dispute)s was refunded"), _("%(amount)s were refunded for “%(title)s”."), MONEY),
    # Messages
    "disputes.message": M(_("New message on dispute #%(dispute)s"), "%(excerpt)s", MESSAGE),
    "disputes.message_file": M(_("New message on dispute #%(dispute)s"), _("A file was attached."), MESSAGE),
    # Deadlines that passed (DESIGN §3) and reminders before them
    "disputes.seller_timeout_refunded.buyer": M(
        _("Dispute #%(dispute)s: refund decided"),
        _("The seller did not answer within %(days)s days, so you are refunded %(amount)s."), MONEY),
    "disputes.seller_timeout_refunded.seller": M(
        _("Dispute #%(dispute)s: deadline missed"),
        _("You did not answer within %(days)s days, so the buyer is refunded %(amount)s."), MONEY),
    "disputes.seller_timeout_escalated.buyer": M(
        _("Dispute #%(dispute)s escalated"),
        _("The seller did not answer within %(days)s days; marketplace staff will decide."), OUTCOME),
    "disputes.seller_timeout_escalated.seller": M(
        _("Dispute #%(dispute)s: deadline missed"),
        _("You did not answer within %(days)s days; marketplace staff will decide."), OUTCOME),
    "disputes.no_warehouse_escalated.buyer": M(
        _("Dispute #%(dispute)s escalated"),
        _("The seller did not send return instructions within %(days)s days, and no return warehouse in your "
          "country takes returns any more; marketplace staff will decide."), OUTCOME),
    "disputes.no_warehouse_escalated.seller": M(
        _("Dispute #%(dispute)s: deadline missed"),
        _("You did not send return instructions within %(days)s days, and no return warehouse in the buyer's "
          "country takes returns any more; marketplace staff will decide."), OUTCOME),
    "disputes.sweep_escalated.staff": M(
        ngettext_lazy("%(count)d dispute escalated by the deadline sweep",
                      "%(count)d disputes escalated by the deadline sweep", "count"),
        _("Sellers missed their deadline; these disputes wait for a staff decision."), OUTCOME),
    "disputes.buyer_did_not_ship": M(
        _("Dispute #%(dispute)s closed"),
        _("The goods were not shipped within %(days)s days of the return instructions; the dispute is closed "
          "without a refund."), OUTCOME),
    "disputes.receipt_timeout_refunded": M(
        _("Dispute #%(dispute)s: refund decided"),
        _("The seller did not confirm receipt of the return within %(days)s days, so the buyer is refunded "
          "%(amount)s."), MONEY),
    "disputes.answer_timeout_closed": M(
        _("Dispute #%(dispute)s closed"),
        _("The buyer neither accepted nor escalated within %(days)s days; the dispute is closed as rejected."),
        OUTCOME),
    "disputes.reminder": M(
        _("Reminder: dispute #%(dispute)s is due %(deadline)s"),
        _("The next step on “%(title)s” is due by %(deadline)s. After that the system acts on its own."), REMINDER),
}

FORMATTERS = {"request": request_param, "state": state_param, "warehouse": address_param,
              "from_reason": reason_param, "to_reason": reason_param}


def register_messages() -> None:
    from .emails import dispute_summary

    register(MESSAGES, FORMATTERS)
    register_summary(MESSAGES, dispute_summary)
