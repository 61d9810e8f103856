from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_user_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="is_api_account",
            field=models.BooleanField(
                default=False,
                help_text="The account a store's API keys act as. Nobody signs in with it and it is never notified.",
                verbose_name="API account"),
        ),
    ]
