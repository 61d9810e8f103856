from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "country", "store", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "country", "store", "groups")
    list_select_related = ("store",)
    search_fields = ("username", "email", "first_name", "last_name", "store__name")
    autocomplete_fields = ("store",)
    fieldsets = BaseUserAdmin.fieldsets + ((_("Marketplace"), {"fields": ("country", "store", "language")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + ((_("Marketplace"), {"fields": ("country", "store")}),)
