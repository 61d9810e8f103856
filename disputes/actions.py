"""The actions a party takes on a dispute, as the pages and the JSON API offer them: for each,
the lifecycle's verb, the form that checks what was sent (the same form for both doors) and
the service it calls. The lifecycle (``lifecycle.allowed_actions``) says who may take which."""
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from returns_portal.errors import DomainError, ErrorCode

from . import lifecycle, selectors, services
from .forms import CounterOfferForm, EscalateForm, InspectionForm, InstructionsForm, RejectForm, ShipForm
from .models import Dispute
from .rules.conditions import RETURN_CONDITIONS
from .services.answers import default_instructions_many, return_warehouses_for


def conditions_of(dispute: Dispute):
    enabled = set(selectors.enabled_condition_codes(dispute.order_line.product.category))
    return [c for c in RETURN_CONDITIONS if c.code in enabled]


def instructions_form(request, dispute: Dispute, data=None) -> InstructionsForm:
    # Pre-filled like the instructions the system would issue if the seller said nothing. Only
    # a local return has those: an international one goes to one of the store's own return
    # warehouses, never to the marketplace's return point the defaults may name.
    defaults = default_instructions_many([dispute])[dispute.pk] if dispute.is_local_return else None
    return InstructionsForm(data, dispute=dispute, warehouses=return_warehouses_for(dispute), defaults=defaults)


def refusal_error(dispute: Dispute, verb: str, user) -> DomainError:
    """Why ``user`` may not take action ``verb`` now: the lifecycle's refusal, with its code."""
    moves = [m for m in lifecycle.STEPS[dispute.state].moves if m.verb == verb] or [
        t.move for t in lifecycle.MOVES.values() if t.move.verb == verb]
    error = lifecycle.refusal(dispute, moves[0].name, lifecycle.party_of(dispute, user), user=user)
    return error or DomainError(ErrorCode.INVALID_TRANSITION, _("This cannot be done now."))


def refusal_of(dispute: Dispute, verb: str, user) -> str:
    """Why ``user`` may not take action ``verb`` now, in words."""
    return refusal_error(dispute, verb, user).message


@dataclass(frozen=True)
class Action:
    """How the page offers one lifecycle action: its form slot, the service it calls, the
    message on success, and its form (bound for a POST, blank for the page)."""

    verb: str
    slot: str
    run: Callable
    success: str
    form: Callable | None = None
    blank: Callable | None = None

    def perform(self, user, dispute: Dispute, form) -> Dispute:
        """Call the service with what ``form`` (valid, or None for an action without one) holds."""
        data = dict(form.cleaned_data) if form is not None else {}
        if isinstance(form, InspectionForm):
            data.update(answers=form.answers, notes=form.notes)
        return self.run(user, dispute, data)


ACTIONS: dict[str, Action] = {
    "instructions": Action(
        "send_instructions", "instructions",
        lambda user, d, data: services.dispute_send_instructions(
            dispute=d, seller=user, warehouse=data["warehouse"], method=data["method"], carrier=data["carrier"],
            text=data["text"]),
        gettext_lazy("Return instructions sent. The buyer has been notified."),
        lambda request, d: instructions_form(request, d, request.POST),
        lambda request, d: instructions_form(request, d),
    ),
    "accept": Action("accept", "accept", lambda user, d, data: services.dispute_accept(dispute=d, seller=user),
                     gettext_lazy("You accepted the dispute; the refund is being paid.")),
    "counter-offer": Action(
        "counter_offer", "counter_offer",
        lambda user, d, data: services.dispute_counter_offer(dispute=d, seller=user, amount=data["amount"],
                                                             message=data["message"]),
        gettext_lazy("Counter-offer sent."), lambda request, d: CounterOfferForm(request.POST, currency=d.currency),
        lambda request, d: CounterOfferForm(currency=d.currency),
    ),
    "reject": Action(
        "reject", "reject",
        lambda user, d, data: services.dispute_reject(dispute=d, seller=user, reason=data["reason"],
                                                      evidence=data["evidence"]),
        gettext_lazy("You rejected the dispute. The buyer may accept or escalate."),
        lambda request, d: RejectForm(request.POST, request.FILES), lambda request, d: RejectForm(),
    ),
    "inspect": Action(
        "inspect", "inspect",
        lambda user, d, data: services.dispute_inspect(dispute=d, inspector=user, answers=data["answers"],
                                                       notes=data["notes"], general_notes=data["general_notes"],
                                                       photos=data["photos"]),
        gettext_lazy("Inspection recorded."),
        lambda request, d: InspectionForm(request.POST, request.FILES, conditions=conditions_of(d)),
        lambda request, d: InspectionForm(conditions=conditions_of(d)),
    ),
    "ship": Action(
        "ship", "ship",
        lambda user, d, data: services.dispute_ship(dispute=d, buyer=user, carrier=data["carrier"],
                                                    tracking_number=data["tracking_number"]),
        gettext_lazy("Thank you: the seller now waits for your parcel."),
        lambda request, d: ShipForm(request.POST),
        lambda request, d: ShipForm(initial={"carrier": getattr(getattr(d, "instructions", None), "carrier", "")}),
    ),
    "accept-offer": Action("accept_offer", "accept_offer",
                           lambda user, d, data: services.dispute_accept_offer(dispute=d, buyer=user),
                           gettext_lazy("You accepted the counter-offer; the refund is being paid.")),
    "accept-rejection": Action(
        "accept_rejection", "accept_rejection",
        lambda user, d, data: services.dispute_accept_rejection(dispute=d, buyer=user),
        gettext_lazy("The dispute is closed."),
    ),
    "escalate": Action(
        "escalate", "escalate",
        lambda user, d, data: services.dispute_escalate(dispute=d, buyer=user, reason=data["reason"]),
        gettext_lazy("Marketplace staff will review the dispute."),
        lambda request, d: EscalateForm(request.POST), lambda request, d: EscalateForm(),
    ),
}
ACTIONS_BY_VERB = {action.verb: action for action in ACTIONS.values()}
