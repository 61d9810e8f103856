"""The marketplace's admin site: Django's, with its titles, and without the navigation
sidebar (the app list is on the front page; the lists need the width: State and Deadline
stay in view beside the filters on a 1,280 px screen)."""
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    site_header = _("Returns portal administration")
    site_title = _("Returns portal")
    index_title = _("Marketplace operations")
    enable_nav_sidebar = False

    @property
    def login_form(self):
        # Says "locked out" rather than "wrong password" once axes locks the account (issue
        # 12). Imported here: this module loads with the app registry, before any model.
        from accounts.forms import AdminLoginForm

        return AdminLoginForm

    def get_app_list(self, request, app_label=None):
        # Every model's permissions, for an app list: each page's context asks for it (the
        # sidebar's), but only the front page and an app's page show one now, so it is
        # worked out only where a page reads it.
        return SimpleLazyObject(lambda: super(PortalAdminSite, self).get_app_list(request, app_label))


class PortalAdminConfig(AdminConfig):
    default_site = "returns_portal.admin_site.PortalAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record the admin shows and never writes: timelines, keys, what services wrote."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
