from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from accounts.views import ConfirmEmailView
from api.endpoints import not_found as api_not_found
from api.views import staff_api_token_revoke, staff_api_tokens
from disputes.admin_views import dashboard_view, rules_view
from returns_portal.csp_report import csp_report


urlpatterns = [
    # Browsers ask every site for /favicon.ico (the admin and the return slip too): answer, not 404.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True)),
    # The Content-Security-Policy's report-uri (settings CONTENT_SECURITY_POLICY).
    path("csp-report/", csp_report, name="csp_report"),
    # Staff pages in the admin's look, before the admin's own URLs (its catch-all would take them).
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="staff_dashboard"),
    path("admin/rules/", admin.site.admin_view(rules_view), name="staff_rules"),
    path("admin/api-tokens/", admin.site.admin_view(staff_api_tokens), name="staff_api_tokens"),
    path("admin/api-tokens/<int:pk>/revoke/", admin.site.admin_view(staff_api_token_revoke),
         name="staff_api_token_revoke"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # allauth's e-mail confirmation, answering a link that does not work with its page and 404.
    re_path(r"^accounts/confirm-email/(?P<key>[-:\w]+)/$", ConfirmEmailView.as_view(), name="account_confirm_email"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", include("notifications.urls")),
    path("", include("accounts.team_urls")),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("disputes.urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
    # Under /api/, what no endpoint answers is the API's 404 (JSON), not the site's page.
    re_path(r"^api/(?P<path>.*)$", api_not_found),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
