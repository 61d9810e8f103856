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


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def send_notification_emails(notification_ids: list[int]) -> int:
    """E-mail a batch of notifications (from a sweep); each at most once. A failure is
    left for the resend sweep rather than retrying the whole batch."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += services.notification_email_send(notification_id=notification_id)
        except Exception:
            services.logger.exception("E-mail of notification %s failed; the resend sweep retries.", notification_id)
    return sent
