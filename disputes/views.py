from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import buyer_required
from returns_portal.errors import DomainError, ErrorCode

from . import selectors, services
from .forms import DisputeListFilterForm, DisputeMessageForm, DisputeOpenForm
from .models import OPEN_STATES, Dispute, DisputeAttachment
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


def _render_detail(request: HttpRequest, dispute: Dispute, message_form: DisputeMessageForm, status: int = 200):
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
            "can_withdraw": is_buyer and dispute.state in services.TRANSITIONS["withdraw"].sources,
            "can_reopen": is_buyer
            and dispute.state == Dispute.State.CLOSED
            and dispute.resolution == Dispute.Resolution.WITHDRAWN
            and order.protection_open,
            "message_form": message_form,
            **selectors.dispute_page_data(dispute),
        },
        status=status,
    )


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
