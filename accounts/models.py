from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country


class User(AbstractUser):
    """A person who signs in: a buyer, a member of a seller's store, or staff.

    A buyer's country of residence is the default delivery country of their orders
    and decides whether local return is available to them.
    """

    class Role(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        SELLER = "seller", _("Seller")
        STAFF = "staff", _("Marketplace staff")

    country = models.CharField(
        _("country of residence"),
        max_length=2,
        choices=Country.choices,
        blank=True,
        help_text=_("Used as the default delivery country of the buyer's orders."),
    )
    store = models.ForeignKey(
        "catalog.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text=_("Set for members of a seller's store."),
    )

    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of the pages, notifications and e-mails this person reads; empty: the browser's."),
    )
    display_name = models.CharField(
        _("display name"),
        max_length=150,
        blank=True,
        help_text=_("How the portal names this person to others; empty: first and last name, or the username."),
    )
    # Which e-mails this person gets, per kind (notifications.kinds). Those that move money
    # (a refund decided or paid) are always sent; the bell shows everything either way.
    email_reminders = models.BooleanField(_("deadline reminders by e-mail"), default=True)
    email_messages = models.BooleanField(_("new messages by e-mail"), default=True)
    email_outcomes = models.BooleanField(_("dispute updates and outcomes by e-mail"), default=True)
    email_digest = models.BooleanField(_("weekly digest by e-mail (sellers)"), default=True)
    is_api_account = models.BooleanField(
        _("API account"),
        default=False,
        help_text=_("The account a store's API keys act as. Nobody signs in with it and it is never notified."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_full_name(self) -> str:
        """The display name the person chose, else first and last name (empty if neither)."""
        return self.display_name.strip() or super().get_full_name()

    @property
    def role(self) -> "User.Role":
        if self.is_staff:
            return self.Role.STAFF
        if self.store_id:
            return self.Role.SELLER
        return self.Role.BUYER

    @property
    def reading_language(self) -> str:
        """The language this person reads in when they are not here to say (e-mails)."""
        return self.language or settings.LANGUAGE_CODE

    @property
    def is_buyer(self) -> bool:
        return self.role == self.Role.BUYER

    @property
    def is_seller(self) -> bool:
        return self.role == self.Role.SELLER
