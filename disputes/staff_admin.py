"""The staff's dispute page in the admin: everything about one dispute on one read-only page,
and the staff actions the lifecycle allows the viewer now, each run through its service.

An action is refused with the lifecycle's reason before its form is read, and again by the
service under the row lock; a refused or invalid form changes nothing and shows the page
again (422) with the message beside the form.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.money import MoneyField, format_money

from . import lifecycle, selectors, services
from .models import Dispute, Refund
from .notices import address_text
from .presentation import author_name, inspection_findings, time_left, timeline

PAGE_SIZE = 50  # the latest timeline entries and messages shown; older ones are on later pages

_REASON_LABEL = gettext_lazy("Reason (kept in the timeline)")


def _text(label: Promise, rows: int = 2, max_length: int = 2000) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, widget=forms.Textarea(attrs={"rows": rows}))


class StaffForm(forms.Form):
    """A staff action's form: built for the dispute it acts on."""

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, **kwargs)
        self.dispute = dispute


class ExtendDeadlineForm(StaffForm):
    until = forms.DateTimeField(
        label=gettext_lazy("New deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("In the marketplace's time zone (%(zone)s).") % {"zone": settings.TIME_ZONE},
    )
    reason = _text(_REASON_LABEL)

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, dispute=dispute, **kwargs)
        if dispute.deadline_at and not self.is_bound:
            self.initial["until"] = timezone.localtime(dispute.deadline_at) + timedelta(days=2)


class StaffNoteForm(StaffForm):
    note = _text(gettext_lazy("Note (only marketplace staff read it)"), rows=3, max_length=5000)


class ReclassifyForm(StaffForm):
    reason_code = forms.ChoiceField(label=gettext_lazy("The buyer's reason is really"), choices=Dispute.Reason.choices)
    why = _text(gettext_lazy("Why (both sides read it)"))

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, dispute=dispute, **kwargs)
        self.fields["reason_code"].choices = [c for c in Dispute.Reason.choices if c[0] != dispute.reason]


class ManualRefundForm(StaffForm):
    amount = MoneyField(label=gettext_lazy("Amount"))
    reason = _text(gettext_lazy("Reason (the buyer reads it)"))
    # One refund per form shown: a double submit of the same form pays once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, dispute: Dispute, **kwargs):
        super().__init__(*args, dispute=dispute, **kwargs)
        self.fields["amount"].currency = dispute.currency
        # The service's limit: refunds decided and not paid yet count too.
        left = Refund.objects.refundable_left([dispute.order_line])[dispute.order_line_id]
        self.fields["amount"].help_text = _(
            "At most %(max)s: paid for the line, less what was refunded or is waiting to be paid.") % {
            "max": format_money(left, dispute.currency)}
        if not self.is_bound:
            self.initial["token"] = secrets.token_urlsafe(16)


class ApproveRefundForm(StaffForm):
    refund = forms.IntegerField(widget=forms.HiddenInput)


@dataclass(frozen=True)
class StaffAction:
    verb: str  # the lifecycle's action
    title: Promise
    form: type[forms.Form]
    run: Callable[[User, Dispute, dict], object]
    success: Promise


STAFF_ACTIONS: dict[str, StaffAction] = {action.verb: action for action in (
    StaffAction(
        "extend_deadline", gettext_lazy("Extend the current deadline"), ExtendDeadlineForm,
        lambda user, d, data: services.dispute_extend_deadline(dispute=d, staff=user, until=data["until"],
                                                               reason=data["reason"]),
        gettext_lazy("The deadline was extended; whoever must act was told."),
    ),
    StaffAction(
        "reclassify", gettext_lazy("Reclassify the buyer's reason"), ReclassifyForm,
        lambda user, d, data: services.dispute_reclassify(dispute=d, staff=user, reason_code=data["reason_code"],
                                                          why=data["why"]),
        gettext_lazy("The reason was changed; both sides were told."),
    ),
    StaffAction(
        "manual_refund", gettext_lazy("Issue a manual refund"), ManualRefundForm,
        lambda user, d, data: services.refund_issue_manual(dispute=d, staff=user, amount=data["amount"],
                                                           reason=data["reason"], token=data["token"]),
        gettext_lazy("The refund was recorded."),
    ),
    StaffAction(
        "approve_refund", gettext_lazy("Approve and pay"), ApproveRefundForm,
        lambda user, d, data: _approve(user, d, data["refund"]),
        gettext_lazy("Refund approved; it is being paid."),
    ),
    StaffAction(
        "staff_note", gettext_lazy("Add a staff note"), StaffNoteForm,
        lambda user, d, data: services.dispute_add_note(dispute=d, staff=user, note=data["note"]),
        gettext_lazy("Note added."),
    ),
)}


def _approve(user: User, dispute: Dispute, refund_id: int) -> Refund:
    if not Refund.objects.filter(pk=refund_id, dispute=dispute).exists():
        raise DomainError(ErrorCode.NOT_ALLOWED, _("There is no such refund."))
    return services.refund_approve(refund_id=refund_id, approver=user)


def _page_number(request, name: str) -> int:
    value = request.GET.get(name, "1")
    return int(value) if value.isdigit() and 0 < len(value) < 7 else 1


def render_staff_page(model_admin, request, pk: int, *, bound: dict | None = None, status: int = 200):
    data = selectors.dispute_for_staff(request.user, pk, events_page=_page_number(request, "events"),
                                       messages_page=_page_number(request, "messages"), page_size=PAGE_SIZE)
    dispute: Dispute = data["dispute"]
    user = request.user
    allowed = lifecycle.allowed_actions(dispute, user)
    forms_shown = []
    for verb, action in STAFF_ACTIONS.items():
        if verb in allowed and verb != "approve_refund":
            form = (bound or {}).get(verb) or action.form(dispute=dispute)
            forms_shown.append((action, form))
    instructions = getattr(dispute, "instructions", None)
    inspection = getattr(dispute, "inspection", None)
    step = lifecycle.STEPS[dispute.state]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "preserved_filters": model_admin.get_preserved_filters(request),  # the way back to the list as filtered
        "title": str(dispute),
        "subtitle": None,
        "dispute": dispute,
        "line": dispute.order_line,
        "order": dispute.order_line.order,
        "who_acts": lifecycle.next_step_text(dispute, lifecycle.Party.STAFF),
        "on_the_clock": step.who,
        "overdue": dispute.is_overdue,
        "time_left": time_left(dispute.deadline_at) if dispute.is_open else "",
        "instructions": instructions,
        "instructions_address": address_text(instructions.address) if instructions else "",
        "shipment": getattr(dispute, "shipment", None),
        "inspection": inspection,
        "findings": inspection_findings(inspection),
        "inspection_photos": data["inspection_photos"],
        "evidence": data["evidence"],
        "refunds": data["refunds"],
        "can_approve": "approve_refund" in allowed,
        "approve_error": (bound or {}).get("approve_refund"),
        "events": data["events"],
        "timeline": timeline(list(data["events"]), dispute, user),
        "thread": [(m, author_name(m.author, dispute, user)) for m in data["messages"]],
        "messages_page": data["messages"],
        "can_decide": "decide" in allowed,
        "staff_forms": forms_shown,
        "has_change_permission": model_admin.has_change_permission(request, dispute),
    }
    return TemplateResponse(request, "admin/disputes/dispute/staff_page.html", context, status=status)


def run_staff_action(model_admin, request, pk: int, verb: str):
    action = STAFF_ACTIONS.get(verb)
    if action is None:
        raise Http404(_("No such action."))
    dispute = selectors.disputes_visible_to(request.user).get(pk=pk)
    party = lifecycle.party_of(dispute, request.user)
    if verb not in lifecycle.allowed_actions(dispute, request.user):
        refused = (lifecycle.refusal(dispute, verb, party, user=request.user)
                   if verb in lifecycle.MOVES else None)
        model_admin.message_user(request, refused.message if refused else _("You may not do this."), messages.ERROR)
        return redirect("admin:disputes_dispute_change", pk)
    form = action.form(request.POST, dispute=dispute)
    if form.is_valid():
        try:
            action.run(request.user, dispute, form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            model_admin.message_user(request, str(action.success), messages.SUCCESS)
            return redirect("admin:disputes_dispute_change", pk)
    return render_staff_page(model_admin, request, pk, bound={verb: form}, status=422)
