from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes and returns")

    def ready(self) -> None:
        from returns_portal import ratelimit  # noqa: F401 (registers the check of its settings)

        from .notices import register_messages

        register_messages()
