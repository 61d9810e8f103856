import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations, models


def give_keys_their_account(apps, schema_editor):
    """Existing keys (all stores' keys) act as their store's API account, made here as
    ``api.keys.store_api_account`` makes it (frozen: a migration does not import the app)."""
    ApiKey = apps.get_model("api", "ApiKey")
    User = apps.get_model("accounts", "User")
    for store_id in ApiKey.objects.values_list("store_id", flat=True).distinct():
        account, _created = User.objects.get_or_create(
            username=f"api#{store_id}",
            defaults={"store_id": store_id, "is_api_account": True, "password": make_password(None)},
        )
        ApiKey.objects.filter(store_id=store_id).update(acts_as=account)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_user_is_api_account"),
        ("api", "0001_api_keys"),
        ("catalog", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="acts_as",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to=settings.AUTH_USER_MODEL, verbose_name="acts as"),
        ),
        migrations.RunPython(give_keys_their_account, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apikey",
            name="acts_as",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to=settings.AUTH_USER_MODEL, verbose_name="acts as"),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="store",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="api_keys", to="catalog.store", verbose_name="store"),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.UniqueConstraint(condition=models.Q(("revoked_at__isnull", True), ("store__isnull", True)),
                                               fields=("acts_as", "name"),
                                               name="api_staff_token_name_unique_among_active"),
        ),
    ]
