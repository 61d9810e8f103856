"""allauth's e-mail addresses in the admin (issue 14): support agents see them; supervisors also
change them (mark one verified for a buyer whose confirmation e-mail does not arrive)."""
from django.db import migrations

SUPPORT = (("account", "view_emailaddress"),)
SUPERVISOR = (("account", "view_emailaddress"), ("account", "change_emailaddress"))


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are normally created after migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in (("Support agent", SUPPORT), ("Supervisor", SUPERVISOR)):
        for group in Group.objects.filter(name=name):
            for app_label, codename in wanted:
                group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in (("Support agent", SUPPORT), ("Supervisor", SUPERVISOR)):
        for group in Group.objects.filter(name=name):
            for app_label, codename in wanted:
                permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
                if permission is not None:
                    group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_store_invitation"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("disputes", "0003_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
