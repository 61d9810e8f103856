"""Issuing a manual refund is its own permission (DESIGN §5): supervisors get it, support
agents do not."""
from django.db import migrations


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are normally created after migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    issue = Permission.objects.get(content_type__app_label="disputes", codename="issue_manual_refund")
    for group in Group.objects.filter(name="Supervisor"):
        group.permissions.add(issue)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    issue = Permission.objects.filter(content_type__app_label="disputes", codename="issue_manual_refund").first()
    if issue is not None:
        for group in Group.objects.filter(name="Supervisor"):
            group.permissions.remove(issue)


class Migration(migrations.Migration):
    dependencies = [("disputes", "0008_staff_actions")]

    operations = [migrations.RunPython(grant, revoke)]
