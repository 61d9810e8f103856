from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
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


class StoreInvitation(models.Model):
    """A store's invitation of an e-mail address to become one of its members: the only way
    into a store (nobody signs up into one). The link carries a secret; only its SHA-256 is
    stored, so the link cannot be rebuilt from the database. Pending until it is accepted
    (once), revoked by the store, or past ``expires_at``."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    store = models.ForeignKey("catalog.Store", verbose_name=_("store"), on_delete=models.CASCADE,
                              related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    invited_by = models.ForeignKey(User, verbose_name=_("invited by"), on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(User, verbose_name=_("accepted by"), on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, verbose_name=_("revoked by"), on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")

    class Meta:
        verbose_name = _("store invitation")
        verbose_name_plural = _("store invitations")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "accepted_at", "revoked_at", "expires_at"],
                                name="invitation_store_pending")]
        constraints = [
            # Accepted or revoked, never both: the two ends exclude each other.
            models.CheckConstraint(condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                                   name="invitation_accepted_or_revoked"),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                   name="invitation_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.store_id}"

    def state_at(self, moment) -> "StoreInvitation.State":
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= moment:
            return self.State.EXPIRED
        return self.State.PENDING

    @property
    def state(self) -> "StoreInvitation.State":
        return self.state_at(timezone.now())
