"""How dates read in messages and e-mails: the same short form the pages use."""
from datetime import datetime

from django.utils import formats, timezone

SHORT_DATETIME = "j M Y, H:i"


def local_datetime(moment: datetime) -> str:
    """``1 Dec 2026, 14:00`` in the site's time zone and the active language."""
    return formats.date_format(timezone.localtime(moment), SHORT_DATETIME)
