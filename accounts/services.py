"""Writes to accounts."""
from django.conf import settings
from django.utils.translation import gettext as _

from returns_portal.errors import DomainError, ErrorCode

from .models import User


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads pages, notifications and e-mails in. Refused
    (``INVALID_CHOICE``) for a language the portal does not speak."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Please choose a language from the list."))
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
