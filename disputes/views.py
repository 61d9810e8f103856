from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import buyer_required, seller_required
from returns_portal import ratelimit
from returns_portal.countries import Country
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.labels import choice_label

from . import lifecycle, selectors, services
from .forms import (
    DisputeListFilterForm,
    DisputeMessageForm,
    DisputeOpenForm,
    InstructionTemplateForm,
)
from .lifecycle import Party
from .models import Dispute, DisputeAttachment, InstructionTemplate, Refund
from .notices import address_lines, address_text
from .presentation import inspection_findings, next_step, thread, time_left, timeline
from .uploads import evidence_response
from .actions import ACTIONS, ACTIONS_BY_VERB, conditions_of, refusal_of  # noqa: F401 (ACTIONS: the pages' table)


@buyer_required
def dispute_open(request: HttpRequest, line_pk: int) -> HttpResponse:
    line = get_object_or_404(selectors.order_lines_for_buyer(request.user), pk=line_pk)
    if request.method == "POST":
        # The service judges eligibility once, under the line's lock; the options are read
        # again only to show the form with its errors.
        form = DisputeOpenForm(request.POST, request.FILES, line=line, local_return_available=True)
        costs = {"open_dispute": 1, "upload": len(request.FILES.getlist("evidence"))}
        limited = ratelimit.refusal(request.user, **costs)
        if limited is not None:
            form.add_error(None, limited.message)
            options = selectors.opening_options(buyer=request.user, line=line)
            return _render_open(request, line, form, options, status=429)
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
                if error.code == ErrorCode.ALREADY_OPEN or (
                    isinstance(error, services.NotEligible) and "one_dispute_per_line" in error.result.failed_codes
                ):
                    # A double submission (the first one opened it), or a line disputed before.
                    return _to_earlier_dispute(request, line)
                _add_refusal(form, error)
            else:
                ratelimit.record(request.user, **costs)
                messages.success(request, _("Your dispute is open. The seller has been notified."))
                return redirect(dispute)
        options = selectors.opening_options(buyer=request.user, line=line)
        if not options.can_open:
            form = DisputeOpenForm(line=line, local_return_available=options.local_return_available)
        return _render_open(request, line, form, options, status=422)
    earlier = selectors.dispute_on_line(line)
    if earlier is not None:
        return _to_earlier_dispute(request, line, earlier)
    options = selectors.opening_options(buyer=request.user, line=line, earlier=None)
    form = DisputeOpenForm(line=line, local_return_available=options.local_return_available)
    return _render_open(request, line, form, options)


def _add_refusal(form: DisputeOpenForm, error: DomainError) -> None:
    """Each reason in its place: local return unavailable at the route choice (the page says
    why above it), every other reason over the form."""
    if not isinstance(error, services.NotEligible):
        form.add_error(None, error.message)
        return
    for result in error.result.failures:
        if result.code in selectors.LOCAL_RETURN_CODES:
            if "route" not in form.errors:
                form.add_error("route", _("Local return is not available for this item; see why above."))
        else:
            form.add_error(None, result.message)


def _to_earlier_dispute(request: HttpRequest, line, earlier: Dispute | None = None) -> HttpResponse:
    """An item has one dispute (DESIGN §3): the buyer is taken to it and told why."""
    earlier = earlier or selectors.dispute_on_line(line)
    if earlier is None or earlier.buyer_id != request.user.pk:
        raise Http404(_("No such item."))
    if earlier.is_open:
        messages.info(request, _("This item already has an open dispute."))
    elif earlier.resolution == Dispute.Resolution.WITHDRAWN and earlier.reopened_at is None:
        messages.info(request, _("You withdrew the dispute on this item; reopen it here instead of opening a new "
                                 "one."))
    else:
        messages.info(request, _("The dispute on this item has ended; no new dispute can be opened on it."))
    return redirect(earlier)


def _render_open(request: HttpRequest, line, form, options, status: int = 200) -> HttpResponse:
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


def _render_detail(
    request: HttpRequest, dispute: Dispute, message_form: DisputeMessageForm | None = None,
    status: int = 200, bound: dict | None = None,
):
    step = next_step(dispute, request.user)
    party = lifecycle.party_of(dispute, request.user)
    allowed = lifecycle.allowed_actions(dispute, request.user)
    is_buyer = party == Party.BUYER
    order = dispute.order_line.order
    # The pages of the timeline and the messages come with the address (a form posted from the
    # page carries them: its errors are shown on the page the reader was on).
    events_page = selectors.page_number(request.GET.get("events"))
    messages_page = selectors.page_number(request.GET.get("messages"))
    page_data = selectors.dispute_page_data(dispute, staff=party == Party.STAFF,
                                            events_page=events_page, messages_page=messages_page)
    forms = {}
    for verb in allowed:  # a form for each action the lifecycle allows the viewer now
        spec = ACTIONS_BY_VERB.get(verb)
        if spec is not None:
            forms[spec.slot] = spec.blank(request, dispute) if spec.blank else True
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
            "is_seller": party == Party.SELLER,
            "instructions": getattr(dispute, "instructions", None),
            # As the buyer was told it when the instructions were issued (the store may have
            # edited or deactivated the warehouse since): one address format everywhere.
            "instructions_address": address_text(dispute.instructions.address)
            if getattr(dispute, "instructions", None) else "",
            "shipment": getattr(dispute, "shipment", None),
            "inspection": getattr(dispute, "inspection", None),
            "findings": inspection_findings(getattr(dispute, "inspection", None)),
            # What was actually paid back, which after a partial decision is not what was asked.
            "refunded": sum((r.amount for r in page_data["refunds"] if r.status == Refund.Status.PAID), Decimal(0)),
            "can_withdraw": "withdraw" in allowed,
            "can_reopen": "reopen" in allowed,
            # Where the buyer would look for Withdraw or Reopen: why there is none, with the date.
            "ending_note": _ending_note(dispute, party, allowed) if is_buyer else "",
            "can_message": party is not None and dispute.is_open,
            "message_form": message_form or DisputeMessageForm(),
            "forms": {**forms, **(bound or {})},
            **page_data,
            "timeline": timeline(page_data["events"], dispute, request.user),
            "thread": thread(page_data["thread"], dispute, request.user),
            # Where the page's forms post to keep the reader on these pages of the two lists.
            "page_query": _page_query(page_data["events_page"].number, page_data["messages_page"].number),
        },
        status=status,
    )


def _page_query(events_page: int, messages_page: int) -> str:
    pages = {name: number for name, number in (("events", events_page), ("messages", messages_page)) if number > 1}
    return "?" + urlencode(pages) if pages else ""


def _ending_note(dispute: Dispute, party, allowed: dict) -> str:
    for verb in ("withdraw", "reopen"):
        if verb not in allowed and dispute.state in lifecycle.MOVES[verb].sources:
            error = lifecycle.refusal(dispute, verb, party)
            if error is not None:
                return error.message
    return ""


@require_POST
@login_required
def dispute_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404(_("No such action."))
    # Refused before a form is bound: nobody is shown a form that is not theirs (nor the
    # store's instruction templates). The service checks again under the row lock.
    if spec.verb not in lifecycle.allowed_actions(dispute, request.user):
        messages.error(request, refusal_of(dispute, spec.verb, request.user))
        return redirect(dispute)
    form = spec.form(request, dispute) if spec.form else None
    uploads = sum(len(files) for _name, files in request.FILES.lists())
    limited = ratelimit.refusal(request.user, upload=uploads)
    if limited is not None and form is not None:
        form.add_error(None, limited.message)
        return _render_detail(request, dispute, status=429, bound={spec.slot: form})
    if form is not None and not form.is_valid():
        return _render_detail(request, dispute, status=422, bound={spec.slot: form})
    try:
        spec.perform(request.user, dispute, form)
    except DomainError as error:
        if form is None:
            messages.error(request, error.message)
            return redirect(dispute)
        form.add_error(None, error.message)
        return _render_detail(request, dispute, status=422, bound={spec.slot: form})
    ratelimit.record(request.user, upload=uploads)
    messages.success(request, spec.success)
    return redirect(dispute)


@login_required
def return_slip(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    instructions = getattr(dispute, "instructions", None)
    if instructions is None:
        raise Http404(_("There are no return instructions yet."))
    return render(request, "disputes/return_slip.html", {
        "dispute": dispute, "instructions": instructions, "address_lines": address_lines(instructions.address),
        "line": dispute.order_line,
        "order": dispute.order_line.order, "conditions": conditions_of(dispute),
    })


@seller_required
def seller_desk(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "action")
    if status not in ("action", "open", "closed", "all"):
        status = "action"
    kind = request.GET.get("kind", "")
    disputes = selectors.disputes_for_seller(request.user, status=status, kind=kind)
    page = Paginator(disputes, settings.ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    # Per row: the dispute, who must act ("seller": the store's move), the time left, the buyer's country.
    rows = [
        (d, str(lifecycle.STEPS[d.state].who or ""), time_left(d.deadline_at) if d.is_open else "",
         choice_label(Country, d.order_line.order.delivery_country))
        for d in page.object_list
    ]
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


def _act(request: HttpRequest, pk: int, action, success: Callable[[Dispute], str]) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    try:
        done = action(dispute=dispute, buyer=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success(done))
    return redirect(dispute)


def _withdrawn(dispute: Dispute) -> str:
    if dispute.reopened_at is not None:
        return _("You withdrew the dispute. It is closed without a refund; it was reopened once already, so it "
                 "cannot be reopened again.")
    return _("You withdrew the dispute. It is closed without a refund; you can reopen it once while buyer "
             "protection lasts.")


@require_POST
@buyer_required
def dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.dispute_withdraw, _withdrawn)


@require_POST
@buyer_required
def dispute_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.dispute_reopen,
                lambda dispute: _("The dispute is open again where it stopped: %(state)s. The seller has been "
                                  "notified.") % {"state": dispute.get_state_display()})


@require_POST
@login_required
def dispute_message(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _get_dispute(request, pk)
    form = DisputeMessageForm(request.POST, request.FILES)
    costs = {"message": 1, "upload": len(request.FILES.getlist("files"))}
    limited = ratelimit.refusal(request.user, **costs)
    if limited is not None:
        form.add_error(None, limited.message)
        return _render_detail(request, dispute, form, status=429)
    if not form.is_valid():
        return _render_detail(request, dispute, form, status=422)
    try:
        services.dispute_message_post(
            dispute=dispute, author=request.user, body=form.cleaned_data["body"], files=form.cleaned_data["files"]
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _render_detail(request, dispute, form, status=422)
    ratelimit.record(request.user, **costs)
    messages.success(request, _("Message sent."))
    return redirect(dispute.get_absolute_url() + "#messages")


@login_required
def attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    try:
        item = selectors.attachment_for(request.user, dispute_pk=pk, attachment_pk=attachment_pk)
    except (Dispute.DoesNotExist, DisputeAttachment.DoesNotExist):
        raise Http404(_("No such file."))
    return evidence_response(item)
