"""Accounts that existed before sign-up with verification (issue 14) were made by staff or the
demo, not by someone typing an address: their address is recorded as verified, so that they
keep logging in (allauth asks for a verified address first)."""
from django.db import migrations


def mark_existing_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    known = {email.lower() for email in EmailAddress.objects.values_list("email", flat=True)}
    rows, seen = [], set()
    for user_id, email in User.objects.exclude(email="").order_by("pk").values_list("pk", "email").iterator():
        if email.lower() in known or email.lower() in seen:
            continue  # an address two accounts share is vouched for on the older one only
        seen.add(email.lower())
        rows.append(EmailAddress(user_id=user_id, email=email, verified=True, primary=True))
    EmailAddress.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_display_name_email_choices"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(mark_existing_verified, migrations.RunPython.noop)]
