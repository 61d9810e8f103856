"""What the browser tests share.

A ``Portal`` is one test's view of the live server in one language: it opens a browser
context per person (signed in through the login page), records every console error, script
error and 4xx/5xx response of every page, every Content-Security-Policy violation (the
``securitypolicyviolation`` events of every page and frame) and every page of the portal served
without the policy, takes numbered full-page screenshots, audits pages
with axe-core and walks them with the Tab key. Pages are driven by stable handles (ids,
names, ``data-*`` attributes, form actions built with ``reverse``), never by English words,
so the same journeys run in Russian.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from orders.management.commands.seed_demo import DEMO_PASSWORD

LANGUAGES = ["en", "ru"]
# The browser's locale: Chromium sends it as Accept-Language, and LocaleMiddleware picks the
# page's language from it until people choose their language in the portal.
LOCALES = {"en": "en-GB", "ru": "ru-RU"}
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", settings.BASE_DIR / "var" / "screenshots"))
IMPACTS = ("critical", "serious", "moderate", "minor")
# Needs-review items of these impacts fail an audit; violations fail it whatever their impact.
BLOCKING_REVIEW = {"critical", "serious"}
# Run in every page and frame before its own scripts (add_init_script is not subject to the
# page's policy): hands each violation to the test through a binding.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", event => {
  window.__cspViolation({directive: event.effectiveDirective, blocked: event.blockedURI,
                         source: event.sourceFile, line: event.lineNumber, sample: event.sample});
}, true);"""


def axe_script() -> str:
    """axe-core's axe.min.js as the axe-playwright-python package ships it (pinned in
    requirements/test.txt): no npm, no network."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@dataclass
class Audit:
    """One axe-core run on one page: violations and needs-review items, each with its impact."""

    label: str
    url: str
    violations: list[dict]
    incomplete: list[dict]
    strict: bool = True

    @property
    def failures(self) -> list[dict]:
        """Every violation, and needs-review items of serious or critical impact. Pages made of
        Django's own admin templates (``strict=False``) are held to serious and critical only:
        their tabular inlines have empty header cells (a minor violation) we do not fork."""
        violations = [item for item in self.violations if self.strict or item["impact"] in BLOCKING_REVIEW]
        return violations + [item for item in self.incomplete if item["impact"] in BLOCKING_REVIEW]

    def report(self) -> str:
        lines = []
        for kind, items in (("violation", self.violations), ("needs review", self.incomplete)):
            for item in items:
                targets = "; ".join(" ".join(map(str, node["target"])) for node in item["nodes"][:5])
                lines.append(f"  {self.label} [{kind}, {item['impact']}] {item['id']}: {item['help']} -> {targets}")
        return "\n".join(lines)


@dataclass
class Portal:
    browser: object  # playwright.sync_api.Browser
    base_url: str
    lang: str
    name: str
    problems: list[str] = field(default_factory=list)
    expected: set[tuple[str, int]] = field(default_factory=set)
    audits: list[Audit] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    documents: int = 0  # pages (and frames) of the portal loaded, each checked for the policy
    _contexts: list = field(default_factory=list)
    _shots: int = 0

    def __post_init__(self) -> None:
        shutil.rmtree(SCREENSHOTS / self.name, ignore_errors=True)  # last run's pictures of this test

    @property
    def shots_dir(self) -> Path:
        folder = SCREENSHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- people -----------------------------------------------------------------------------

    def visitor(self, username: str | None = None, *, admin: bool = False):
        """A new browser (context) in this portal's language, signed in as ``username``."""
        context = self.browser.new_context(
            base_url=self.base_url, locale=LOCALES[self.lang], timezone_id=settings.TIME_ZONE,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        self._contexts.append(context)
        who = username or "visitor"
        context.expose_binding("__cspViolation", lambda source, violation: self._csp_violation(source, who, violation))
        context.add_init_script(CSP_WATCH)
        # Every page of this person, including those a link opens in a new tab.
        context.on("page", lambda new_page: self.watch(new_page, who))
        page = context.new_page()
        if username and admin:
            self.goto(page, reverse("admin:login") + "?next=" + reverse("admin:index"))
            page.fill("#id_username", username)
            page.fill("#id_password", DEMO_PASSWORD)
            self.submit(page, "#login-form", lands_on=reverse("admin:index"))
        elif username:
            self.goto(page, reverse("account_login"))
            page.fill("#id_login", username)
            page.fill("#id_password", DEMO_PASSWORD)
            self.submit(page, "main form:has(#id_password)", lands_on=reverse(settings.LOGIN_REDIRECT_URL))
        return page

    def watch(self, page, who: str) -> None:
        def console(message) -> None:
            if message.type != "error":
                return
            if "Content Security Policy" in message.text:
                self.csp_violations.append(f"{who}: console on {page.url}: {message.text}")
            location = urlsplit(message.location.get("url", "")).path
            if message.text.startswith("Failed to load resource") and any(p == location for p, _ in self.expected):
                return  # the 4xx this test asked for, already checked by its status
            self.problems.append(f"{who}: console error on {page.url}: {message.text}")

        def response(response) -> None:
            if response.request.resource_type == "document" and response.url.startswith(self.base_url):
                self.documents += 1
                policy = response.headers.get("content-security-policy", "")
                if "frame-ancestors 'none'" not in policy or "script-src 'self'" not in policy:
                    self.problems.append(f"{who}: no Content-Security-Policy on {response.url}: {policy!r}")
            if response.status < 400:
                return
            path = urlsplit(response.url).path
            if (path, response.status) not in self.expected:
                self.problems.append(f"{who}: HTTP {response.status} for {response.request.method} {path}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(f"{who}: script error on {page.url}: {error}"))
        page.on("response", response)

    def _csp_violation(self, source, who: str, violation: dict) -> None:
        text = (f"{who}: Content-Security-Policy violation on {source['frame'].url}: {violation['directive']} "
                f"blocked {violation['blocked']!r} ({violation['source']}:{violation['line']}) {violation['sample']!r}")
        self.csp_violations.append(text)
        self.problems.append(text)

    def expect_status(self, path: str, status: int) -> None:
        """This test submits something the server must refuse: that response is no problem."""
        self.expected.add((path, status))

    # --- moving around ------------------------------------------------------------------------

    def check_page(self, page) -> None:
        assert page.locator("html").get_attribute("lang") == self.lang, f"{page.url} is not in {self.lang}"

    def goto(self, page, path: str, *, status: int = 200):
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.check_page(page)
        return page

    def submit(self, page, form: str, *, lands_on: str | None = None, status: int | None = None):
        """Submit ``form`` with its own submit button, as a person would, and wait for the page."""
        with page.expect_navigation(wait_until="load") as navigation:
            page.locator(form).locator("[type=submit]").first.click()
        response = navigation.value
        if status is None:
            assert response.status < 400, f"{form} answered HTTP {response.status} ({response.url})"
        else:
            assert response.status == status, f"{form} answered HTTP {response.status} ({response.url}), not {status}"
        if lands_on is not None:
            assert path_of(page) == lands_on, f"{form} landed on {page.url}, not {lands_on}"
        self.check_page(page)
        return page

    def follow(self, page, href: str):
        """Click the link to ``href`` (it must be on the page) and wait for the page."""
        with page.expect_navigation(wait_until="load") as navigation:
            page.locator(f'main a[href="{href}"]').first.click()
        assert navigation.value.status == 200, f"the link to {href} answered HTTP {navigation.value.status}"
        assert path_of(page) == urlsplit(href).path, f"the link to {href} led to {page.url}"
        self.check_page(page)
        return page

    # --- evidence -----------------------------------------------------------------------------

    def shot(self, page, name: str) -> Path:
        self._shots += 1
        path = self.shots_dir / f"{self._shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def audit(self, page, label: str, *, strict: bool = True) -> Audit:
        page.evaluate(axe_script())
        # The whole page in the viewport while axe looks: text that straddles the bottom edge
        # of the window otherwise reads "partially obscured", its contrast undetermined.
        window = page.viewport_size
        page.set_viewport_size({"width": window["width"],
                                "height": max(window["height"], page.evaluate("document.documentElement.scrollHeight"))})
        try:
            raw = page.evaluate("options => axe.run(document, options)", {"resultTypes": ["violations", "incomplete"]})
        finally:
            page.set_viewport_size(window)
        audit = Audit(label=label, url=path_of(page), violations=raw["violations"], incomplete=raw["incomplete"],
                      strict=strict)
        self.audits.append(audit)
        return audit

    def assert_no_problems(self) -> None:
        assert not self.problems, "the browser saw problems:\n" + "\n".join(self.problems)

    def close(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts.clear()


def path_of(page) -> str:
    return urlsplit(page.url).path


# Everything a person can act on: links, buttons and form fields, when shown and enabled.
INTERACTIVE = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  return [...document.querySelectorAll(selector)].filter(el => !el.disabled && shown(el)).map((el, i) => {
    el.dataset.kbd = String(i);
    return {key: String(i), group: el.type === 'radio' ? 'radio:' + el.name : String(i),
            html: el.outerHTML.slice(0, 120)};
  });
}"""
# The element that has the focus, and whether a person can see where it is.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return {key: el.dataset.kbd || null, html: el.outerHTML.slice(0, 120),
          focusVisible: el.matches(':focus-visible'), indicated: outline || ring};
}"""


@dataclass
class KeyboardWalk:
    reached: list[dict]
    unreached: list[dict]
    unindicated: list[dict]


def walk_with_tab(page, limit: int = 400) -> KeyboardWalk:
    """Press Tab from the top of the page until the focus leaves it: which actions were
    reached (a radio group counts once: arrows move inside it), and which had no visible focus."""
    interactive = page.evaluate(INTERACTIVE)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: list[dict] = []
    seen: set[str] = set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or focused["key"] in seen:
            break
        if focused["key"] is not None:
            seen.add(focused["key"])
        reached.append(focused)
    groups = {item["group"] for item in interactive if item["key"] in seen}
    unreached = [item for item in interactive if item["group"] not in groups]
    unindicated = [item for item in reached if not (item["focusVisible"] and item["indicated"])]
    return KeyboardWalk(reached=reached, unreached=unreached, unindicated=unindicated)
