from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import buyer_required, seller_required
from returns_portal.errors import DomainError, ErrorCode

from . import selectors, services
from .forms import (
    CounterOfferForm,
    DisputeListFilterForm,
    DisputeMessageForm,
    DisputeOpenForm,
    EscalateForm,
    InspectionForm,
    InstructionsForm,
    InstructionTemplateForm,
    RejectForm,
    ShipForm,
)
from .models import OPEN_STATES, Dispute, DisputeAttachment, InstructionTemplate
from .rules.conditions import RETURN_CONDITIONS
from .services.answers import return_warehouses_for
from .presentation import next_step, time_left


@buyer_required
def dispute_open(request: HttpRequest, line_pk: int) -> HttpResponse:
    line = get_object_or_404(selectors.order_lines_for_buyer(request.user), pk=line_pk)
    open_dispute = Dispute.objects.filter(order_line=line, state__in=OPEN_STATES).first()
    if open_dispute is not None:
        messages.info(request, _("This item already has an open dispute."))
        return redirect(open_dispute)
    options = selectors.opening_options(buyer=request.user, line=line)
    status = 200
    if request.method == "POST" and options.can_open:
        form = DisputeOpenForm(
            request.POST, request.FILES, line=line, local_return_available=options.local_return_available
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                dispute = services.dispute_open(
                    buyer=request.user,
                    order_line=line,
                    kind=data["kind"],
                    route=data["route"],
                    amount=data["amount"],
                    reason=data["reason"],
                    description=data["description"],
                    evidence=data["evidence"],
                )
            except DomainError as error:
                if error.code in (ErrorCode.ALREADY_OPEN,) or (
                    isinstance(error, services.NotEligible) and "no_open_dispute" in error.result.failed_codes
                ):
                    # A double submission: the first one opened it.
                    existing = Dispute.objects.filter(order_line=line, state__in=OPEN_STATES).first()
                    if existing is not None and existing.buyer_id == request.user.pk:
                        messages.info(request, _("This item already has an open dispute."))
                        return redirect(existing)
                reasons = error.result.messages if isinstance(error, services.NotEligible) else [error.message]
                for reason in reasons:
                    form.add_error(None, reason)
                status = 422
            else:
                messages.success(request, _("Your dispute is open. The seller has been notified."))
                return redirect(dispute)
        else:
            status = 422
    else:
        form = DisputeOpenForm(line=line, local_return_available=options.local_return_available)
        if request.method == "POST":
            status = 422
    return render(
        request,
        "disputes/dispute_open.html",
        {"line": line, "order": line.order, "form": form, "options": options,
         "max_mb": settings.EVIDENCE_MAX_BYTES // (1024 * 1024)},
        status=status,
    )


@buyer_required
def dispute_list(request: HttpRequest) -> HttpResponse:
    form = DisputeListFilterForm(request.GET)
    status = form.cleaned_data.get("status") if form.is_valid() else ""
    status = status or "open"
    open_only = {"open": True, "closed": False, "all": None}[status]
    disputes = selectors.disputes_for_buyer(request.user, open_only=open_only)
    page = Paginator(disputes, settings.ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "disputes/dispute_list.html", {"page": page, "status": status})


def _get_dispute(request: HttpRequest, pk: int) -> Dispute:
    return get_object_or_404(selectors.disputes_visible_to(request.user), pk=pk)


@login_required
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    return _render_detail(request, dispute, DisputeMessageForm())


def _action_forms(request: HttpRequest, dispute: Dispute) -> dict:
    """The forms the viewer may use on this dispute now (by role and state)."""
    user, state, S = request.user, dispute.state, Dispute.State
    is_buyer = dispute.buyer_id == user.pk
    is_seller = bool(user.store_id) and user.store_id == dispute.store_id
    forms: dict = {}
    if is_seller and state == S.AWAITING_SELLER:
        if dispute.kind == Dispute.Kind.RETURN:
            forms["instructions"] = InstructionsForm(dispute=dispute, warehouses=return_warehouses_for(dispute))
        if not dispute.is_local_return:
            forms["accept"] = True
            forms["counter_offer"] = CounterOfferForm(currency=dispute.currency)
            forms["reject"] = RejectForm()
    if is_seller and state == S.RETURN_IN_TRANSIT:
        forms["inspect"] = InspectionForm(conditions=_conditions_of(dispute))
    if is_buyer and state == S.AWAITING_BUYER_SHIPMENT:
        instructions = getattr(dispute, "instructions", None)
        forms["ship"] = ShipForm(initial={"carrier": instructions.carrier if instructions else ""})
    if is_buyer and state in (S.COUNTER_OFFERED, S.REJECTED):
        forms["accept_offer" if state == S.COUNTER_OFFERED else "accept_rejection"] = True
        forms["escalate"] = EscalateForm()
    return forms


def _conditions_of(dispute: Dispute):
    enabled = set(selectors.enabled_condition_codes(dispute.order_line.product.category))
    return [c for c in RETURN_CONDITIONS if c.code in enabled]


def _render_detail(
    request: HttpRequest, dispute: Dispute, message_form: DisputeMessageForm | None = None,
    status: int = 200, bound: dict | None = None,
):
    step = next_step(dispute, request.user)
    is_buyer = dispute.buyer_id == request.user.pk
    order = dispute.order_line.order
    return render(
        request,
        "disputes/dispute_detail.html",
        {
            "dispute": dispute,
            "line": dispute.order_line,
            "order": order,
            "step": step,
            "time_left": time_left(step.deadline),
            "is_buyer": is_buyer,
            "is_seller": bool(request.user.store_id) and request.user.store_id == dispute.store_id,
            "instructions": getattr(dispute, "instructions", None),
            "shipment": getattr(dispute, "shipment", None),
            "inspection": getattr(dispute, "inspection", None),
            # Once the goods went back to the seller the buyer accepts or escalates instead.
            "can_withdraw": is_buyer and dispute.state in services.TRANSITIONS["withdraw"].sources
            and getattr(dispute, "shipment", None) is None,
            "can_reopen": is_buyer
            and dispute.state == Dispute.State.CLOSED
            and dispute.resolution == Dispute.Resolution.WITHDRAWN
            and order.protection_open,
            "message_form": message_form or DisputeMessageForm(),
            "forms": {**_action_forms(request, dispute), **(bound or {})},
            **selectors.dispute_page_data(dispute),
        },
        status=status,
    )


@dataclass(frozen=True)
class Action:
    slot: str
    run: Callable
    success: str
    form: Callable | None = None


ACTIONS: dict[str, Action] = {
    "instructions": Action(
        "instructions",
        lambda user, d, data: services.dispute_send_instructions(
            dispute=d, seller=user, warehouse=data["warehouse"], method=data["method"], carrier=data["carrier"],
            text=data["text"]),
        _("Return instructions sent. The buyer has been notified."),
        lambda request, d: InstructionsForm(request.POST, dispute=d, warehouses=return_warehouses_for(d)),
    ),
    "accept": Action("accept", lambda user, d, data: services.dispute_accept(dispute=d, seller=user),
                     _("You accepted the dispute; the refund is being paid.")),
    "counter-offer": Action(
        "counter_offer",
        lambda user, d, data: services.dispute_counter_offer(dispute=d, seller=user, amount=data["amount"],
                                                             message=data["message"]),
        _("Counter-offer sent."), lambda request, d: CounterOfferForm(request.POST, currency=d.currency),
    ),
    "reject": Action(
        "reject",
        lambda user, d, data: services.dispute_reject(dispute=d, seller=user, reason=data["reason"],
                                                      evidence=data["evidence"]),
        _("You rejected the dispute. The buyer may accept or escalate."),
        lambda request, d: RejectForm(request.POST, request.FILES),
    ),
    "inspect": Action(
        "inspect",
        lambda user, d, data: services.dispute_inspect(dispute=d, inspector=user, answers=data["answers"],
                                                       notes=data["notes"], general_notes=data["general_notes"],
                                                       photos=data["photos"]),
        _("Inspection recorded."),
        lambda request, d: InspectionForm(request.POST, request.FILES, conditions=_conditions_of(d)),
    ),
    "ship": Action(
        "ship",
        lambda user, d, data: services.dispute_ship(dispute=d, buyer=user, carrier=data["carrier"],
                                                    tracking_number=data["tracking_number"]),
        _("Thank you: the seller now waits for your parcel."),
        lambda request, d: ShipForm(request.POST),
    ),
    "accept-offer": Action("accept_offer", lambda user, d, data: services.dispute_accept_offer(dispute=d, buyer=user),
                           _("You accepted the counter-offer; the refund is being paid.")),
    "accept-rejection": Action(
        "accept_rejection", lambda user, d, data: services.dispute_accept_rejection(dispute=d, buyer=user),
        _("The dispute is closed."),
    ),
    "escalate": Action(
        "escalate",
        lambda user, d, data: services.dispute_escalate(dispute=d, buyer=user, reason=data["reason"]),
        _("Marketplace staff will review the dispute."),
        lambda request, d: EscalateForm(request.POST),
    ),
}


# The seller's actions; the others are the buyer's. Anyone else is refused before a form is
# bound, so nobody is shown a form that is not theirs (nor the store's instruction templates).
SELLER_ACTIONS = frozenset({"instructions", "accept", "counter_offer", "reject", "inspect"})


@require_POST
@login_required
def dispute_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404(_("No such action."))
    if spec.slot in SELLER_ACTIONS:
        allowed = bool(request.user.store_id) and request.user.store_id == dispute.store_id
        refusal = _("Only the store that sold this item can do this.")
    else:
        allowed = dispute.buyer_id == request.user.pk
        refusal = _("Only the buyer who opened this dispute can do this.")
    if not allowed:
        messages.error(request, refusal)
        return redirect(dispute)
    form = spec.form(request, dispute) if spec.form else None
    if form is not None and not form.is_valid():
        return _render_detail(request, dispute, status=422, bound={spec.slot: form})
    data = dict(form.cleaned_data) if form is not None else {}
    if isinstance(form, InspectionForm):
        data.update(answers=form.answers, notes=form.notes)
    try:
        spec.run(request.user, dispute, data)
    except DomainError as error:
        if form is None:
            messages.error(request, error.message)
            return redirect(dispute)
        form.add_error(None, error.message)
        return _render_detail(request, dispute, status=422, bound={spec.slot: form})
    messages.success(request, spec.success)
    return redirect(dispute)


@login_required
def return_slip(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    instructions = getattr(dispute, "instructions", None)
    if instructions is None:
        raise Http404(_("There are no return instructions yet."))
    return render(request, "disputes/return_slip.html", {
        "dispute": dispute, "instructions": instructions, "line": dispute.order_line,
        "order": dispute.order_line.order, "conditions": _conditions_of(dispute),
    })


@seller_required
def seller_desk(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "action")
    if status not in ("action", "open", "closed", "all"):
        status = "action"
    kind = request.GET.get("kind", "")
    disputes = selectors.disputes_for_seller(request.user, status=status, kind=kind)
    page = Paginator(disputes, settings.ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(d, next_step(d, request.user), time_left(d.deadline_at) if d.is_open else "") for d in page.object_list]
    return render(request, "disputes/seller_desk.html", {
        "page": page, "rows": rows, "status": status, "kind": kind, "kinds": Dispute.Kind.choices,
    })


@seller_required
def instruction_templates(request: HttpRequest) -> HttpResponse:
    store = request.user.store
    form = InstructionTemplateForm(request.POST or None, store=store)
    if request.method == "POST":
        if form.is_valid():
            template = form.save(commit=False)
            template.store = store
            template.save()
            messages.success(request, _("Template saved."))
            return redirect("disputes:instruction_templates")
        status = 422
    else:
        status = 200
    templates = InstructionTemplate.objects.filter(store=store).select_related("warehouse")
    return render(request, "disputes/instruction_templates.html", {"form": form, "templates": templates},
                  status=status)


@require_POST
@seller_required
def instruction_template_delete(request: HttpRequest, template_pk: int) -> HttpResponse:
    template = get_object_or_404(InstructionTemplate, pk=template_pk, store_id=request.user.store_id)
    template.delete()
    messages.success(request, _("Template deleted."))
    return redirect("disputes:instruction_templates")


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    try:
        action(dispute=dispute, buyer=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(dispute)


@require_POST
@buyer_required
def dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.dispute_withdraw,
                _("You withdrew the dispute. It is closed without a refund; you can reopen it while "
                  "buyer protection lasts."))


@require_POST
@buyer_required
def dispute_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.dispute_reopen, _("The dispute is open again. The seller has been notified."))


@require_POST
@login_required
def dispute_message(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    form = DisputeMessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(request, dispute, form, status=422)
    try:
        services.dispute_message_post(
            dispute=dispute, author=request.user, body=form.cleaned_data["body"], files=form.cleaned_data["files"]
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _render_detail(request, dispute, form, status=422)
    messages.success(request, _("Message sent."))
    return redirect(dispute.get_absolute_url() + "#messages")


@login_required
def attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    try:
        item = selectors.attachment_for(request.user, dispute_pk=pk, attachment_pk=attachment_pk)
    except (Dispute.DoesNotExist, DisputeAttachment.DoesNotExist):
        raise Http404(_("No such file."))
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Content-Disposition"] = f'inline; filename="attachment-{item.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
