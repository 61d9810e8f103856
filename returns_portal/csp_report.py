"""Where browsers report what the Content-Security-Policy blocked (its ``report-uri``).

Browsers post these without a session or a CSRF token, in two shapes: ``report-uri``'s
``{"csp-report": {...}}`` (``application/csp-report``) and the Reporting API's list of
``{"type": "csp-violation", "body": {...}}`` (``application/reports+json``). Each violation is
logged as a warning with the directive and the blocked address. Anyone may post here, so the
body is capped, a post logs a few reports at most, every logged value is shortened and stripped
of control characters, and nothing is stored.
"""
from __future__ import annotations

import json
import logging
import re

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("returns_portal.csp")

MAX_REPORT_BYTES = 16 * 1024
MAX_REPORTS_PER_POST = 10
MAX_VALUE_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Each shape's names for: the directive, the blocked address, the page, the source file and line.
_FIELDS = {
    "csp-report": ("effective-directive", "violated-directive", "blocked-uri", "document-uri", "source-file",
                   "line-number"),
    "reports+json": ("effectiveDirective", "violatedDirective", "blockedURL", "documentURL", "sourceFile",
                     "lineNumber"),
}


def _clean(value) -> str:
    if value is None or isinstance(value, (dict, list)):
        return "-"
    return _CONTROL.sub("?", str(value))[:MAX_VALUE_CHARS] or "-"


def _violations(payload) -> list[tuple[str, dict]] | None:
    """(shape, body) of each violation in a report, or None when it is not a CSP report."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [("csp-report", payload["csp-report"])]
    if isinstance(payload, list) and payload:
        bodies = [("reports+json", item["body"]) for item in payload
                  if isinstance(item, dict) and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict)]
        return bodies or None
    return None


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log each violation in the posted report and answer 204. Refused: a body over
    ``MAX_REPORT_BYTES`` (413), and anything that is not a CSP report in JSON (400)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_REPORT_BYTES:
        return HttpResponse(_("The report is too large."), status=413, content_type="text/plain")
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return HttpResponse(_("The report is too large."), status=413, content_type="text/plain")
    try:
        violations = _violations(json.loads(body))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        violations = None
    if violations is None:
        return HttpResponse(_("This is not a Content-Security-Policy report."), status=400, content_type="text/plain")
    for shape, report in violations[:MAX_REPORTS_PER_POST]:
        effective, violated, blocked, document, source, line = (report.get(name) for name in _FIELDS[shape])
        logger.warning("CSP violation: %s blocked %s on %s (%s:%s)", _clean(effective or violated), _clean(blocked),
                       _clean(document), _clean(source), _clean(line))
    return HttpResponse(status=204)
