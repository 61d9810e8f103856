from celery import shared_task

from . import services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=5, acks_late=True)
def send_notification_email(notification_id: int) -> bool:
    """E-mail one notification; True if this run sent it. Safe to run twice or concurrently."""
    return services.notification_email_send(notification_id=notification_id)


@shared_task
def send_unsent_notification_emails() -> int:
    """Beat job: send the e-mails still owed (queueing or sending failed); returns how many."""
    return services.notification_emails_resend()
