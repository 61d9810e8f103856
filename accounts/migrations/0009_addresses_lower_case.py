"""Addresses kept lower-cased, as allauth keeps and looks them up (issue 14): an account made before
with capitals before the @ (by staff, an invitation) could not log in by its address nor reset
its password. An address that would then equal another account's is left as it is."""
from django.db import migrations


def lower_case(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    taken = {email for email in EmailAddress.objects.values_list("email", flat=True) if email == email.lower()}
    for address in EmailAddress.objects.exclude(email="").iterator():
        lowered = address.email.lower()
        if lowered != address.email and lowered not in taken:
            taken.add(lowered)
            EmailAddress.objects.filter(pk=address.pk).update(email=lowered)
    users = {email.lower() for email in User.objects.values_list("email", flat=True) if email == email.lower()}
    for user_id, email in User.objects.exclude(email="").values_list("pk", "email").iterator():
        if email != email.lower() and email.lower() not in users:
            users.add(email.lower())
            User.objects.filter(pk=user_id).update(email=email.lower())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_email_address_permissions")]

    operations = [migrations.RunPython(lower_case, migrations.RunPython.noop)]
