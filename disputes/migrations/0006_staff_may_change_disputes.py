"""The staff flag alone grants nothing (DESIGN §5): working on a dispute in the portal
(messages to both sides) needs ``disputes.change_dispute``, which both staff groups get;
deciding and paying stay with supervisors."""
from django.db import migrations


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    change = Permission.objects.get(content_type__app_label="disputes", codename="change_dispute")
    for group in Group.objects.filter(name__in=["Support agent", "Supervisor"]):
        group.permissions.add(change)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    change = Permission.objects.filter(content_type__app_label="disputes", codename="change_dispute").first()
    if change is not None:
        for group in Group.objects.filter(name__in=["Support agent", "Supervisor"]):
            group.permissions.remove(change)


class Migration(migrations.Migration):
    dependencies = [("disputes", "0005_lifecycle_endings_four_eyes")]

    operations = [migrations.RunPython(grant, revoke)]
