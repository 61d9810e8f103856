from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from returns_portal.errors import DomainError
from returns_portal.money import MoneyField, format_money

from .models import (
    CategoryCondition,
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    InstructionTemplate,
    Refund,
)
from .presentation import inspection_findings, timeline
from .services import dispute_staff_decide, refund_approve, refund_pay
from .services.staff import REFUND_FULL, REFUND_PARTIAL, REJECT


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DisputeEventInline(ReadOnlyInline):
    """The timeline is append-only: shown, never edited."""

    model = DisputeEvent
    fields = ("created_at", "kind", "actor", "from_state", "to_state", "details")
    readonly_fields = fields


class DisputeMessageInline(ReadOnlyInline):
    model = DisputeMessage
    fields = ("created_at", "author", "body")
    readonly_fields = fields


class DisputeAttachmentInline(ReadOnlyInline):
    model = DisputeAttachment
    fields = ("created_at", "uploaded_by", "link", "content_type", "size", "message", "inspection")
    readonly_fields = fields

    @admin.display(description=_("file"))
    def link(self, obj: DisputeAttachment) -> str:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.original_name)


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "amount", "currency", "status", "decided_by", "reason", "attempts", "last_error",
              "paid_at", "gateway_reference")
    readonly_fields = fields


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("24h", _("Due within 24 hours"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(deadline_at__lt=now)
        if self.value() == "24h":
            return queryset.filter(deadline_at__gte=now, deadline_at__lt=now + timedelta(hours=24))
        return queryset


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), widget=forms.RadioSelect,
        choices=[(REFUND_FULL, _("Refund in full")), (REFUND_PARTIAL, _("Refund part")), (REJECT, _("Reject"))],
    )
    amount = MoneyField(label=_("Partial amount"), required=False)
    reason = forms.CharField(label=_("Reason (both sides read it)"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency  # the dispute's: JPY refunds have no decimals

    def clean(self):
        cleaned = super().clean()
        # An amount that was typed but refused already has its own error on the field.
        if cleaned.get("decision") == REFUND_PARTIAL and cleaned.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount of the partial refund."))
        return cleaned


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """Disputes change state only through services: read-only fields here, plus the
    staff decision page for escalated disputes (permission ``disputes.decide_dispute``)."""

    list_display = ("id", "order_line", "buyer", "store", "kind", "route", "state", "amount", "currency",
                    "deadline_at", "overdue", "created_at")
    list_filter = (OverdueFilter, "state", "kind", "route", "resolution", "store")
    list_select_related = ("order_line", "buyer", "store")
    search_fields = ("=id", "order_line__order__number", "buyer__username", "buyer__email", "store__name")
    date_hierarchy = "created_at"
    ordering = ("deadline_at",)
    readonly_fields = ["decide_link", *[f.name for f in Dispute._meta.fields]]
    inlines = [RefundInline, DisputeEventInline, DisputeMessageInline, DisputeAttachmentInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_inline_instances(self, request, obj=None):
        # A read-only inline without rows is a table of headers over no data (a screen reader
        # announces an empty grid): left out until the dispute has such rows.
        return [inline for inline in super().get_inline_instances(request, obj)
                if obj is None or inline.model.objects.filter(dispute=obj).exists()]

    # Seeing disputes needs the view permission everywhere (DESIGN §5): Django would let the
    # change permission alone show them.
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("disputes.view_dispute")

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj) and request.user.has_perm("disputes.change_dispute")

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, obj: Dispute) -> bool:
        return obj.is_open and obj.deadline_at is not None and obj.deadline_at < timezone.now()

    @admin.display(description=_("staff decision"))
    def decide_link(self, obj: Dispute) -> str:
        if obj.state != Dispute.State.ESCALATED:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:disputes_dispute_decide", args=[obj.pk]), _("Decide this dispute"))

    def get_urls(self):
        return [
            path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view), name="disputes_dispute_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk: int):
        if not (self.has_change_permission(request) and request.user.has_perm("disputes.decide_dispute")):
            raise PermissionDenied
        dispute = get_object_or_404(Dispute.objects.select_related("order_line__order", "buyer", "store"), pk=pk)
        form = DecisionForm(request.POST or None, currency=dispute.currency)
        if request.method == "POST" and form.is_valid():
            try:
                dispute_staff_decide(dispute=dispute, staff=request.user, decision=form.cleaned_data["decision"],
                                     reason=form.cleaned_data["reason"], amount=form.cleaned_data.get("amount"))
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, _("Decision recorded; both sides were notified."), messages.SUCCESS)
                if Refund.objects.filter(dispute=dispute, status=Refund.Status.AWAITING_APPROVAL).exists():
                    self.message_user(request, _(
                        "The refund is above %(limit)s, so it is paid once another staff member allowed to pay "
                        "refunds approves it.") % {"limit": format_money(settings.STAFF_REFUND_APPROVAL_LIMIT,
                                                                         dispute.currency)}, messages.INFO)
                return redirect("admin:disputes_dispute_change", dispute.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Decide dispute #%(id)s") % {"id": dispute.pk},
            "dispute": dispute,
            "form": form,
            "opts": self.model._meta,
            "timeline": timeline(list(dispute.events.select_related("actor"))),
            "inspection": getattr(dispute, "inspection", None),
            "findings": inspection_findings(getattr(dispute, "inspection", None)),
        }
        return TemplateResponse(request, "admin/disputes/dispute/decide.html", context,
                                status=422 if request.method == "POST" else 200)


class AwaitingApprovalFilter(admin.SimpleListFilter):
    """The four-eyes queue (DESIGN §4), linked from the admin's front page."""

    title = _("approval")
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [("waiting", _("Waiting for approval"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(status=Refund.Status.AWAITING_APPROVAL)
        return queryset


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    """Payments of decided refunds. Paying (or retrying a failed payment) and approving a
    large staff-decided refund are their own permission, ``disputes.pay_refund``; nobody
    approves a refund they decided; amounts are never edited."""

    list_display = ("idempotency_key", "dispute", "amount", "currency", "status", "attempts", "decided_by",
                    "approved_by", "created_at", "paid_at")
    list_filter = (AwaitingApprovalFilter, "status", "currency")
    list_select_related = ("dispute__order_line__order", "decided_by", "approved_by")
    search_fields = ("idempotency_key", "gateway_reference", "=dispute__id", "order_line__order__number")
    readonly_fields = [f.name for f in Refund._meta.fields]
    actions = ["approve", "pay_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_pay_permission(self, request) -> bool:
        return request.user.has_perm("disputes.pay_refund")

    @admin.action(description=_("Approve and pay (a second staff member's approval)"), permissions=["pay"])
    def approve(self, request, queryset):
        approved, refused = 0, []
        for refund_id in queryset.filter(status=Refund.Status.AWAITING_APPROVAL).values_list("pk", flat=True):
            try:
                refund_approve(refund_id=refund_id, approver=request.user)
            except DomainError as error:
                refused.append(error.message)
            else:
                approved += 1
        self.message_user(request, ngettext("%(count)d refund approved; it is being paid.",
                                            "%(count)d refunds approved; they are being paid.", approved)
                          % {"count": approved}, messages.SUCCESS if approved else messages.WARNING)
        for message in dict.fromkeys(refused):
            self.message_user(request, message, messages.WARNING)

    @admin.action(description=_("Pay now (or retry a failed payment)"), permissions=["pay"])
    def pay_now(self, request, queryset):
        paid = failed = 0
        waiting = queryset.filter(status=Refund.Status.AWAITING_APPROVAL).count()
        for refund_id in queryset.exclude(status__in=[Refund.Status.PAID, Refund.Status.AWAITING_APPROVAL]
                                          ).values_list("pk", flat=True):
            result = refund_pay(refund_id=refund_id, actor=request.user)
            if result.status == Refund.Status.PAID:
                paid += 1
            else:
                failed += 1
        self.message_user(request, _("%(paid)d paid, %(failed)d failed.") % {"paid": paid, "failed": failed},
                          messages.SUCCESS if not failed else messages.WARNING)
        if waiting:
            self.message_user(request, ngettext(
                "%(count)d refund waits for approval: approve it first.",
                "%(count)d refunds wait for approval: approve them first.", waiting) % {"count": waiting},
                messages.WARNING)


@admin.register(CategoryCondition)
class CategoryConditionAdmin(admin.ModelAdmin):
    """Switch a return condition on or off for a category (and its subcategories)."""

    list_display = ("category", "code", "enabled")
    list_editable = ("enabled",)
    list_filter = ("code", "enabled", "category")
    list_select_related = ("category",)
    search_fields = ("category__name", "code")
    autocomplete_fields = ("category",)


@admin.register(InstructionTemplate)
class InstructionTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "warehouse", "method", "carrier")
    list_filter = ("store", "method")
    list_select_related = ("store", "warehouse")
    search_fields = ("name", "store__name", "carrier")


@admin.register(DisputeEvent)
class DisputeEventAdmin(admin.ModelAdmin):
    list_display = ("dispute", "kind", "from_state", "to_state", "actor", "created_at")
    list_filter = ("kind", "to_state")
    list_select_related = ("actor",)
    search_fields = ("=dispute__id", "actor__username")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
