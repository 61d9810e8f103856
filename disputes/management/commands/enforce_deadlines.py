"""Run the deadline sweep once (the same code the Celery beat job runs) and print what it did."""
from django.core.management.base import BaseCommand

from disputes.sweep import enforce_deadlines


class Command(BaseCommand):
    help = "Apply every dispute outcome whose deadline has passed, send due reminders, print counts per outcome."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what is due; change nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per transaction.")

    def handle(self, *args, dry_run: bool = False, batch_size: int | None = None, **options) -> None:
        report = enforce_deadlines(dry_run=dry_run, batch_size=batch_size)
        if dry_run:
            self.stdout.write("Dry run: due now, by step (nothing was changed)")
            for step, count in report.counts.items():
                self.stdout.write(f"  {step}: {count}")
            return
        for line in report.lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(f"Deadline sweep done: {report.total} dispute(s) moved on."))
