"""The return leg: instructions from the seller, the buyer's shipment, the inspection."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..rules.conditions import RETURN_CONDITIONS


class ReturnMethod(models.TextChoices):
    DROP_OFF = "drop_off", _("Drop off at a carrier's point")
    COURIER_PICKUP = "courier_pickup", _("Courier pick-up from the buyer")


class InstructionTemplate(models.Model):
    """A store's reusable return instructions."""

    store = models.ForeignKey(
        "catalog.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="instruction_templates"
    )
    name = models.CharField(_("name"), max_length=120)
    warehouse = models.ForeignKey(
        "catalog.Warehouse", verbose_name=_("return warehouse"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    method = models.CharField(_("method"), max_length=20, choices=ReturnMethod.choices, default=ReturnMethod.DROP_OFF)
    carrier = models.CharField(_("carrier"), max_length=100)
    text = models.TextField(_("instructions"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("instruction template")
        verbose_name_plural = _("instruction templates")
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="instruction_template_unique_name")]

    def __str__(self) -> str:
        return self.name


class ReturnInstructions(models.Model):
    """Where, how and by when the buyer sends the goods back, with the RMA code."""

    dispute = models.OneToOneField(
        "disputes.Dispute", verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="instructions"
    )
    warehouse = models.ForeignKey(
        "catalog.Warehouse", verbose_name=_("return warehouse"), on_delete=models.PROTECT, related_name="+"
    )
    # The warehouse's address as the buyer was told it (``notices.warehouse_params``): the store
    # may edit or deactivate its warehouse later, and the buyer's parcel must still follow
    # what they were told. Pages and the slip read this, never the live warehouse.
    address = models.JSONField(_("address sent to the buyer"), default=dict)
    method = models.CharField(_("method"), max_length=20, choices=ReturnMethod.choices)
    carrier = models.CharField(_("carrier"), max_length=100)
    text = models.TextField(_("instructions"), blank=True)
    rma_code = models.CharField(_("RMA code"), max_length=32, unique=True)
    ship_by = models.DateTimeField(_("ship by"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text=_("Empty when issued automatically after the seller's deadline."),
    )
    created_at = models.DateTimeField(_("issued"), default=timezone.now)

    class Meta:
        verbose_name = _("return instructions")
        verbose_name_plural = _("return instructions")

    def __str__(self) -> str:
        return self.rma_code


class ReturnShipment(models.Model):
    dispute = models.OneToOneField(
        "disputes.Dispute", verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="shipment"
    )
    carrier = models.CharField(_("carrier"), max_length=100)
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    shipped_at = models.DateTimeField(_("shipped"), default=timezone.now)

    class Meta:
        verbose_name = _("return shipment")
        verbose_name_plural = _("return shipments")

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class CategoryCondition(models.Model):
    """Staff's switch of one return condition for one category (and its subcategories).

    Without a row a condition applies by its default (DESIGN §2); the nearest row up the
    category tree wins."""

    category = models.ForeignKey(
        "catalog.Category", verbose_name=_("category"), on_delete=models.CASCADE, related_name="conditions"
    )
    code = models.CharField(
        _("condition"), max_length=40, choices=[(c.code, c.code) for c in RETURN_CONDITIONS]
    )
    enabled = models.BooleanField(_("checked"), default=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("return condition of a category")
        verbose_name_plural = _("return conditions of categories")
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="category_condition_unique")]

    def __str__(self) -> str:
        return f"{self.category}: {self.code} {'on' if self.enabled else 'off'}"


class Inspection(models.Model):
    """The receiver's checklist of the returned goods and the rule chain's verdict."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted: meets the return conditions")
        REJECTED = "rejected", _("Rejected: a return condition failed")
        REVIEW = "review", _("Needs a decision by marketplace staff")

    dispute = models.OneToOneField(
        "disputes.Dispute", verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="inspection"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    answers = models.JSONField(_("answers"), default=dict)
    notes = models.JSONField(_("notes per condition"), default=dict, blank=True)
    general_notes = models.TextField(_("notes"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    # [{"code", "outcome", "message"}] for every condition that did not pass.
    findings = models.JSONField(_("findings"), default=list, blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")

    def __str__(self) -> str:
        return f"{self.dispute_id}: {self.outcome}"
