"""Notifications store a message key and parameters instead of finished text; rows written
before keep their text under the ``notifications.text`` key."""
from django.db import migrations, models

TEXT = "notifications.text"


def keep_old_text(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for notification in Notification.objects.only("pk", "subject", "body").iterator(chunk_size=2000):
        Notification.objects.filter(pk=notification.pk).update(
            key=TEXT, params={"subject": notification.subject, "body": notification.body})


def restore_text(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for notification in Notification.objects.filter(key=TEXT).only("pk", "params").iterator(chunk_size=2000):
        Notification.objects.filter(pk=notification.pk).update(
            subject=notification.params.get("subject", "")[:200], body=notification.params.get("body", ""))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.AddField(model_name="notification", name="key",
                            field=models.CharField(default="", max_length=100, verbose_name="message"),
                            preserve_default=False),
        migrations.AddField(model_name="notification", name="params",
                            field=models.JSONField(blank=True, default=dict, verbose_name="parameters")),
        migrations.AlterField(model_name="notification", name="subject",
                              field=models.CharField(blank=True, default="", max_length=200, verbose_name="subject")),
        migrations.AlterField(model_name="notification", name="body",
                              field=models.TextField(blank=True, default="", verbose_name="body")),
        migrations.RunPython(keep_old_text, restore_text),
        migrations.RemoveField(model_name="notification", name="subject"),
        migrations.RemoveField(model_name="notification", name="body"),
    ]
