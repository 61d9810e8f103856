import csv
import html
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_list import admin_list_filter
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone, translation
from django.utils.encoding import iri_to_uri
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from returns_portal.admin_site import ReadOnlyAdmin
from returns_portal.countries import Country
from returns_portal.errors import DomainError
from returns_portal.formatting import LocalDates
from returns_portal.labels import choice_label
from returns_portal.money import MoneyField, format_money, money_formatter

from . import queues
from .lifecycle import STEPS, Party
from .models import (
    CategoryCondition,
    Dispute,
    DisputeEvent,
    InstructionTemplate,
    Refund,
)
from .presentation import inspection_findings, timeline
from .services import dispute_staff_decide, refund_approve, refund_pay
from .services.answers import normalise_tracking_number
from .services.staff import REFUND_FULL, REFUND_PARTIAL, REJECT
from .staff_admin import render_staff_page, run_staff_action


# --- the disputes list ------------------------------------------------------------------------------
# Every filter is a plain question a staff member asks; each queue on the admin's front page is
# one of them, two clicks away.


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("24h", _("Due within 24 hours"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(queues.overdue(now))
        if self.value() == "24h":
            return queryset.filter(queues.due_soon(now))
        return queryset


class QueueFilter(admin.SimpleListFilter):
    """The staff queues: escalated or overdue, escalated only, refunds awaiting a second
    staff member's approval, and deadlines the sweep has not processed (always empty while
    the sweep is alive)."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(name, label) for name, (label, _condition) in queues.LIST_QUEUES.items()]

    def queryset(self, request, queryset):
        queue = queues.LIST_QUEUES.get(self.value() or "")
        return queryset.filter(queue[1](timezone.now())) if queue else queryset


class CountryFilter(admin.SimpleListFilter):
    """The buyer's delivery country (where a local return goes)."""

    title = _("buyer's country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        return Country.choices

    def queryset(self, request, queryset):
        if self.value() in Country.values:
            return queryset.filter(order_line__order__delivery_country=self.value())
        return queryset


# Who must act now, in words (the lifecycle's party of the current step).
WHO_ACTS = {
    Party.BUYER: _("Buyer"),
    Party.SELLER: _("Seller"),
    Party.STAFF: _("Staff"),
    Party.SYSTEM: _("Payment"),
}
SHORT_KIND = {
    (Dispute.Kind.RETURN, Dispute.Route.LOCAL): _("Local return"),
    (Dispute.Kind.RETURN, Dispute.Route.INTERNATIONAL): _("International return"),
    (Dispute.Kind.REFUND_ONLY, Dispute.Route.NONE): _("Refund only"),
}


@lru_cache(maxsize=16)
def _words(language: str | None) -> dict:
    """The list's words in ``language``, translated once per process rather than once per
    cell (a list of 50 rows asks for each of them hundreds of times); those shown in the list
    as HTML are escaped here once too."""
    return {
        "state_badge": {value: format_html('<span class="state-badge state-badge--{}">{}</span>', value, str(label))
                        for value, label in Dispute.State.choices},
        "who": {party: str(text) for party, text in WHO_ACTS.items()},
        "kind": {key: str(text) for key, text in SHORT_KIND.items()},
        "overdue_html": html.escape(str(_("overdue"))),
    }


def words() -> dict:
    return _words(translation.get_language())


def who_acts(dispute: Dispute) -> str:
    who = STEPS[dispute.state].who
    return words()["who"][who] if who else "—"


def short_kind(dispute: Dispute) -> str:
    return words()["kind"].get((dispute.kind, dispute.route)) or dispute.kind_label


# What the list reads of each dispute, with its order line, order and store: one row of
# values each (not four model instances).
LIST_FIELDS = ("id", "state", "deadline_at", "kind", "route", "amount", "currency", "created_at",
               "order_line__title", "order_line__order__number", "order_line__order__delivery_country",
               "store__name")


@dataclass(slots=True)
class ListedDispute:
    """A dispute as the list shows it: its number, its store's name and its cells."""

    id: int
    store: str
    cells: dict[str, str]

    @property
    def pk(self) -> int:
        return self.id


class ListCells:
    """The list's cells for one page: the language's words, the money and date formats and
    the moment "overdue" is measured from are looked up once for the page, not once per cell."""

    def __init__(self) -> None:
        self.words = words()
        self.money = money_formatter()
        self.dates = LocalDates()
        self.now = timezone.now()

    def row(self, values: tuple) -> ListedDispute:
        """``values``: a dispute's ``LIST_FIELDS``."""
        (pk, state, deadline_at, kind, route, amount, currency, created_at,
         title, order_number, country, store_name) = values
        w = self.words
        if state not in Dispute.TERMINAL_STATES and deadline_at is not None:
            shown = html.escape(self.dates.day_month(deadline_at, with_time=True))
            deadline = (f'<span class="overdue"><span class="deadline-date">{shown}</span><br>'
                        f'<strong>{w["overdue_html"]}</strong></span>' if deadline_at < self.now
                        else f'<span class="deadline-date">{shown}</span>')
        else:
            deadline = "—"
        who = STEPS[state].who
        # bandit: every value from the database is escaped (html.escape); the rest is ours.
        return ListedDispute(pk, store_name, {
            "number": mark_safe(f'#{pk}<br><small class="item-title">'  # nosec B308, B703
                                f'{html.escape(title if len(title) <= 40 else title[:39] + "…")} '
                                f'({html.escape(order_number)})</small>'),
            "state_badge": w["state_badge"].get(state) or state,
            "next_deadline": mark_safe(deadline),  # nosec B308, B703
            "who_acts": w["who"][who] if who else "—",
            "kind_route": w["kind"].get((kind, route)) or Dispute(kind=kind, route=route).kind_label,
            "buyer_country": choice_label(Country, country),
            "amount_shown": self.money(amount, currency),
            "opened": self.dates.local_date(created_at),
        })


class DisputeChangeList(ChangeList):
    """The disputes list: its rows (``ListedDispute``) and its filters' HTML made here, once per page."""

    def get_results(self, request):
        super().get_results(request)
        # The page's rows as values of the columns shown, their cells made with the page's words.
        cells = ListCells()
        self.result_list = [cells.row(values) for values in self.result_list.values_list(*LIST_FIELDS)]

    SELECTED = ' class="selected"'

    def filters_html(self) -> str:
        """Each filter as Django's ``admin/filter.html`` writes it, written here: that template
        spends more on the list's fifty choices than the choices cost to make."""
        parts = []
        for spec in self.filter_specs:
            if spec.template != "admin/filter.html":
                parts.append(admin_list_filter(self, spec))
                continue
            title = escape(spec.title)
            choices = "".join(
                f'\n    <li{self.SELECTED if choice["selected"] else ""}>\n    '
                f'<a href="{escape(iri_to_uri(choice["query_string"]))}">'
                f'{conditional_escape(choice["display"])}</a></li>\n  '
                for choice in spec.choices(self))
            summary = gettext(" By %(filter_title)s ") % {"filter_title": title}
            parts.append(f'<details data-filter-title="{title}" open>\n  <summary>\n    {summary}\n  </summary>\n'
                         f'  <ul>\n  {choices}\n  </ul>\n</details>\n')
        # bandit: every value is escaped above (escape, conditional_escape) or is Django's own HTML.
        return mark_safe("".join(parts))  # nosec B308, B703


def _csv_safe(value) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (a formula) gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


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
    """Disputes change only through the services: the list finds them, the page shows
    everything about one and offers the staff actions the lifecycle allows the viewer now
    (``staff_actions.py``); no field is ever edited."""

    list_display = ("number", "state_badge", "next_deadline", "who_acts", "kind_route", "buyer_country",
                    "amount_shown", "store", "opened")
    list_display_links = ("number",)
    list_filter = (QueueFilter, DeadlineFilter, "state", "route", CountryFilter, "store",
                   ("created_at", admin.DateFieldListFilter))
    list_select_related = ("order_line__order", "store")
    list_per_page = 50
    show_full_result_count = False  # one COUNT, however many disputes
    show_facets = admin.ShowFacets.NEVER  # a COUNT per filter choice: the queues' counts are on the front page
    search_fields = ("=id",)  # the search box; the fields searched are in get_search_results
    search_help_text = _("Dispute number, order number, buyer's e-mail or username, RMA code or tracking number.")
    # The most urgent first; ended disputes (no deadline) last.
    ordering = (F("deadline_at").asc(nulls_last=True), "-id")
    change_list_template = "admin/disputes/dispute/change_list.html"

    def get_changelist(self, request, **kwargs):
        return DisputeChangeList

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # Seeing disputes needs the view permission everywhere (DESIGN §5): Django would let the
    # change permission alone show them.
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("disputes.view_dispute")

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj) and request.user.has_perm("disputes.change_dispute")

    def get_search_results(self, request, queryset, search_term):
        # Exact matches on indexed columns (a dispute number may be written "#12"; tracking
        # numbers are stored without spaces, in capitals).
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = (Q(order_line__order__number__iexact=term) | Q(buyer__email__iexact=term)
                     | Q(buyer__username__iexact=term) | Q(instructions__rma_code__iexact=term)
                     | Q(shipment__tracking_number=normalise_tracking_number(term)))
        number = term.lstrip("#")
        if number.isdigit() and len(number) < 12:
            condition |= Q(pk=int(number))
        return queryset.filter(condition), False

    # --- columns ---

    @admin.display(description=_("Dispute"), ordering="id")
    def number(self, obj: ListedDispute) -> str:
        return obj.cells["number"]

    @admin.display(description=_("State"), ordering="state")
    def state_badge(self, obj: ListedDispute) -> str:
        return obj.cells["state_badge"]

    @admin.display(description=_("Deadline"), ordering="deadline_at")
    def next_deadline(self, obj: ListedDispute) -> str:
        return obj.cells["next_deadline"]

    @admin.display(description=_("Who acts"))
    def who_acts(self, obj: ListedDispute) -> str:
        return obj.cells["who_acts"]

    @admin.display(description=_("Kind"), ordering="kind")
    def kind_route(self, obj: ListedDispute) -> str:
        return obj.cells["kind_route"]

    @admin.display(description=_("Country"), ordering="order_line__order__delivery_country")
    def buyer_country(self, obj: ListedDispute) -> str:
        return obj.cells["buyer_country"]

    @admin.display(description=_("Amount"), ordering="amount")
    def amount_shown(self, obj: ListedDispute) -> str:
        return obj.cells["amount_shown"]

    @admin.display(description=_("Opened"), ordering="created_at")
    def opened(self, obj: ListedDispute) -> str:
        return obj.cells["opened"]

    # --- pages ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export.csv", view(self.export_view), name="disputes_dispute_export"),
            path("<int:pk>/decide/", view(self.decide_view), name="disputes_dispute_decide"),
            path("<int:pk>/act/<slug:action>/", view(self.action_view), name="disputes_dispute_action"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The list as filtered and searched, as CSV, streamed row by row (any size)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        rows = (changelist.get_queryset(request).select_related("order_line__order", "store", "buyer")
                .order_by("pk"))
        language = translation.get_language()
        header = [_("Dispute"), _("State"), _("Deadline"), _("Who acts"), _("Kind"), _("Country"), _("Amount"),
                  _("Currency"), _("Store"), _("Order"), _("Item"), _("Buyer's e-mail"), _("Opened")]

        def lines():
            writer = csv.writer(_Echo())
            with translation.override(language):
                yield "\ufeff"  # spreadsheets read UTF-8 by its byte order mark
                yield writer.writerow([_csv_safe(h) for h in header])
                for d in rows.iterator(chunk_size=2000):
                    yield writer.writerow([_csv_safe(v) for v in (
                        d.pk, d.get_state_display(), d.deadline_at.isoformat() if d.is_open and d.deadline_at else "",
                        who_acts(d), short_kind(d), d.order_line.order.delivery_country, d.amount, d.currency,
                        d.store.name, d.order_line.order.number, d.order_line.title, d.buyer.email,
                        d.created_at.isoformat())])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="disputes-{timezone.localdate():%Y-%m-%d}.csv"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One read-only page with everything about the dispute and the staff actions."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            if not str(object_id).isdigit() or len(str(object_id)) > 12:
                raise Dispute.DoesNotExist
            return render_staff_page(self, request, int(object_id))
        except Dispute.DoesNotExist:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

    def action_view(self, request, pk: int, action: str):
        if request.method != "POST":
            return redirect("admin:disputes_dispute_change", pk)
        if not self.has_change_permission(request):
            raise PermissionDenied
        get_object_or_404(Dispute.objects.only("pk"), pk=pk)
        return run_staff_action(self, request, pk, action)

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
            "title": _("Decide: %(dispute)s") % {"dispute": dispute},
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
class DisputeEventAdmin(ReadOnlyAdmin):
    list_display = ("dispute", "kind", "from_state", "to_state", "actor", "created_at")
    list_filter = ("kind", "to_state")
    list_select_related = ("actor", "dispute__order_line__order")
    search_fields = ("=dispute__id", "actor__username")
