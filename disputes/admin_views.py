"""Staff pages beside the admin's model pages, in its look: the dashboard and the rules in force.
Thin: the figures come from ``dashboard`` and ``policy``."""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import policy
from .dashboard import dashboard, dashboard_charts
from .models import CategoryCondition


def dashboard_view(request):
    """Disputes and refunds in figures; staff who may see disputes (``disputes.view_dispute``)."""
    if not request.user.has_perm("disputes.view_dispute"):
        raise PermissionDenied
    figures = dashboard(timezone.now())
    return TemplateResponse(request, "admin/dashboard.html", {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "figures": figures,
        "charts": dashboard_charts(figures),
    })


def rules_view(request):
    """The rules in force: for every staff member the admin lets in."""
    return TemplateResponse(request, "admin/rules.html", {
        **admin.site.each_context(request),
        "title": _("Rules in force"),
        "deadlines": policy.deadlines(),
        "other_rules": policy.other_settings(),
        "local_return": policy.local_return_today(),
        "conditions_name": CategoryCondition._meta.verbose_name_plural,
    })
