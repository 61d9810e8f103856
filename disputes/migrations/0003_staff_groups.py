"""Staff roles (DESIGN §5): support agents see everything; supervisors also decide
escalated disputes, pay refunds and switch return conditions per category."""
from django.db import migrations

VIEW_APPS = ("accounts", "catalog", "orders", "disputes", "notifications")
SUPERVISOR_EXTRA = (
    ("disputes", "decide_dispute"),
    ("disputes", "pay_refund"),
    ("disputes", "add_categorycondition"),
    ("disputes", "change_categorycondition"),
    ("disputes", "delete_categorycondition"),
)


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are normally created after migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    viewing = list(Permission.objects.filter(content_type__app_label__in=VIEW_APPS, codename__startswith="view_"))
    support, _ = Group.objects.get_or_create(name="Support agent")
    support.permissions.add(*viewing)
    supervisor, _ = Group.objects.get_or_create(name="Supervisor")
    supervisor.permissions.add(*viewing)
    for app_label, codename in SUPERVISOR_EXTRA:
        supervisor.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Support agent", "Supervisor"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0002_return_leg_and_refunds"),
        ("accounts", "0001_initial"),
        ("catalog", "0001_initial"),
        ("orders", "0002_line_refunded_amount"),
        ("notifications", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
