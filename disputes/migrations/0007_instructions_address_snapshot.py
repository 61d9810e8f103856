"""Return instructions keep the warehouse's address as the buyer was told it, so a store that
edits or deactivates its warehouse later does not change where an issued return goes.

Existing instructions are filled with the address in the buyer's notification of them (the
words the buyer actually read, matched by RMA code), or, where that notification is gone,
with the warehouse's address as it is now.

No dependency on the notifications app is declared: its tests migrate it back and forth
alone, and a fresh database has no instructions to fill. Where the notifications' keyed
messages (``notifications.0002``) are not there yet, the warehouse's address is used."""
from django.db import migrations, models

ADDRESS_KEYS = ("name", "address", "city", "country")
BATCH = 1000


def _as_told(value) -> dict | None:
    if isinstance(value, dict) and all(isinstance(value.get(key), str) for key in ADDRESS_KEYS):
        return {key: value[key] for key in ADDRESS_KEYS}
    return None


def _notifications(apps):
    """The notifications model, if its messages are keyed already (else None)."""
    try:
        Notification = apps.get_model("notifications", "Notification")
    except LookupError:
        return None
    return Notification if {"key", "params"} <= {f.name for f in Notification._meta.get_fields()} else None


def _told(Notification, rma_codes: list[str]) -> dict[str, dict]:
    """RMA code → the address in the buyer's notification of those instructions."""
    told = {}
    if Notification is None:
        return told
    for params in (Notification.objects.filter(key="disputes.instructions_sent.buyer", params__rma__in=rma_codes)
                   .order_by("created_at", "pk").values_list("params", flat=True)):
        address = _as_told(params.get("warehouse"))
        if address is not None:
            told.setdefault(params.get("rma"), address)
    return told


def fill_addresses(apps, schema_editor):
    ReturnInstructions = apps.get_model("disputes", "ReturnInstructions")
    Notification = _notifications(apps)
    last_pk = 0
    while True:
        batch = list(ReturnInstructions.objects.filter(pk__gt=last_pk, address={}).select_related("warehouse")
                     .order_by("pk")[:BATCH])
        if not batch:
            return
        last_pk = batch[-1].pk
        told = _told(Notification, [row.rma_code for row in batch])
        for row in batch:
            row.address = told.get(row.rma_code) or {
                "name": row.warehouse.name, "address": row.warehouse.address, "city": row.warehouse.city,
                "country": row.warehouse.country}
        ReturnInstructions.objects.bulk_update(batch, ["address"])


class Migration(migrations.Migration):

    dependencies = [
        ("disputes", "0006_staff_may_change_disputes"),
    ]

    operations = [
        migrations.AddField(
            model_name="returninstructions",
            name="address",
            field=models.JSONField(default=dict, verbose_name="address sent to the buyer"),
        ),
        migrations.RunPython(fill_addresses, migrations.RunPython.noop, elidable=True),
    ]
