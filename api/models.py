from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 100


class ApiKey(models.Model):
    """A key a store's systems use to call the JSON API as that store.

    The full key, ``rp_<prefix>_<secret>``, is shown once when it is issued. Only its prefix
    (public, to tell keys apart in lists) and the SHA-256 of its secret are stored. Keys are
    revoked, never deleted: the list keeps who made and who revoked each one.
    """

    # A store's key (``store`` set) acts as the store's API account; a staff token (no store)
    # acts as the member of staff who made it, with their permissions.
    store = models.ForeignKey("catalog.Store", verbose_name=_("store"), on_delete=models.PROTECT,
                              related_name="api_keys", null=True, blank=True)
    acts_as = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("acts as"), on_delete=models.PROTECT,
                                related_name="+")
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)  # unique: its own index
    hashed = models.CharField(_("SHA-256 of the secret"), max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        permissions = [("revoke_apikey", _("Can revoke API keys"))]
        constraints = [
            # Two requests naming a key at once: the second is refused here, whatever it checked before.
            models.UniqueConstraint(fields=["store", "name"], condition=Q(revoked_at__isnull=True),
                                    name="api_key_name_unique_among_active"),
            models.UniqueConstraint(fields=["acts_as", "name"],
                                    condition=Q(revoked_at__isnull=True, store__isnull=True),
                                    name="api_staff_token_name_unique_among_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_staff_token(self) -> bool:
        return self.store_id is None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """A POST made with an ``Idempotency-Key``: claimed in the transaction that acts on it, with
    the answer it got. A retry with the same key and body is answered from here without acting
    again; the same key with another body is refused. One row per key and ``Idempotency-Key``
    (a unique index), so of requests racing with one key exactly one acts."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the method, path and body
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique")]
