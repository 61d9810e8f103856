"""Who may open what, on the whole site: every URL pattern of the project (read from the URL
resolver, so a new URL is in the matrix by itself and fails until it has its expectations)
x GET and POST x each role.

Roles: anonymous; buyer A (Anna) and buyer B (Boris); store A's seller and store B's seller;
a staff user with no permissions, a Support agent and a Supervisor; store A's and store B's
API keys. Path parameters are filled with buyer A's / store A's objects, so B's people are
the other party. Each cell states the status (and, for a redirect, whether it is to a login
page). Every cell runs in a savepoint rolled back after it, so each sees the same world; a
refused request (a redirect to a login page, 403, 404, 405) writes nothing to the database
(every INSERT, UPDATE and DELETE is counted, sessions aside, and the API matrix's snapshot is
compared for POSTs); and nobody outside A's party (anonymous, buyer B, seller B, the staff user
without permissions, an API key on a page, store B's key) reads A's data in any answer: order
numbers, names, e-mail addresses, the dispute's description and messages, the warehouse's
address, links to A's disputes and orders.

The API (``/api/v1/``) is matrixed in detail by ``api/tests/test_authorization_matrix.py``
(keys, revoked keys, staff tokens, wrong states): here its expectations are reused for the
store's key, the other store's key and every caller without a key (a session is not an API
credential).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from api.tests.test_authorization_matrix import EXPECTATIONS as API_EXPECTATIONS
from api.tests.test_authorization_matrix import leaks as api_leaks
from api.tests.test_authorization_matrix import path as api_path
from api.tests.world import snapshot

from .authz_world import INSIDERS, ROLES, SECRET_ADDRESS, SECRET_DESCRIPTION, build_site_world

DISCOVER = os.environ.get("PAGEMATRIX_DISCOVER") == "1"


# Framework URLs nobody's data is behind; each says why it is not in the matrix.
ALLOWLIST = {
    "favicon.ico": "a permanent redirect to a static file",
    "i18n/setlang/": "Django's set_language: stores a language in a cookie, holds nobody's data",
    "^api/(?P<path>.*)$": "the API's JSON 404 for any unknown /api/ address: no view behind it",
}


@dataclass(frozen=True)
class Pattern:
    route: str  # the joined route, as the resolver shows it
    name: str  # namespace:name, or the route when the pattern has no name
    is_api: bool  # under /api/v1/, in the API matrix


def url_patterns() -> list[Pattern]:
    found = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, (namespace, pattern.namespace))) if pattern.namespace else namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or route)
                found.append(Pattern(route, name, route.startswith("api/v1/")))

    walk(get_resolver().url_patterns, "", None)
    return found


PATTERNS = [p for p in url_patterns() if p.route not in ALLOWLIST]


# ---------------------------------------------------------------------------------------------
# Expectations. A value is an HTTP status, or LOGIN / ADMIN_LOGIN: a 302 to that login page.
LOGIN, ADMIN_LOGIN = "login", "admin-login"


def roles(anonymous, buyer_a, buyer_b, seller_a, seller_b, staff, support_agent, supervisor,
          key_a=None, key_b=None) -> dict:
    """A row of the matrix; the API keys are nobody on the pages (no session): as anonymous."""
    return {"anonymous": anonymous, "buyer_a": buyer_a, "buyer_b": buyer_b, "seller_a": seller_a,
            "seller_b": seller_b, "staff": staff, "support_agent": support_agent, "supervisor": supervisor,
            "key_a": anonymous if key_a is None else key_a, "key_b": anonymous if key_b is None else key_b}


def everyone(status) -> dict:
    return roles(*[status] * 8)


def same(row: dict) -> dict[str, dict]:
    """The same row for GET and POST (a view that does not look at the method)."""
    return {"GET": row, "POST": row}


def post_only(row: dict) -> dict[str, dict]:
    """GET is refused with 405 by everyone (``require_POST`` runs before the login check)."""
    return {"GET": everyone(405), "POST": row}


# Pages of a logged-in buyer, of a store's members, and of staff in the admin.
BUYER_PAGE = roles(LOGIN, 200, 200, 403, 403, 403, 403, 403)  # each buyer their own list
SELLER_PAGE = roles(LOGIN, 403, 403, 200, 200, 403, 403, 403)  # each store its own
SELLER_FORM_EMPTY = roles(LOGIN, 403, 403, 422, 422, 403, 403, 403)  # an empty form: 422 with its errors
# A's object: buyer A's (or store A's); buyer B and store B get a 404, other kinds of user a 403.
BUYERS_OBJECT = roles(LOGIN, 200, 404, 403, 403, 403, 403, 403)
STORES_OBJECT_POSTED = roles(LOGIN, 403, 403, 302, 404, 403, 403, 403)  # done, back to the list
# A dispute (and its files and slip): its buyer, its store and staff who may view disputes.
DISPUTE_PAGE = roles(LOGIN, 200, 404, 200, 404, 404, 200, 200)
ADMIN_STAFF = roles(*[ADMIN_LOGIN] * 5, 200, 200, 200)  # the admin lets staff in, whatever their permissions
ADMIN_VIEWERS = roles(*[ADMIN_LOGIN] * 5, 403, 200, 200)  # staff who may view disputes
ADMIN_SUPERVISOR = roles(*[ADMIN_LOGIN] * 5, 403, 403, 200)
ADMIN_NOBODY = roles(*[ADMIN_LOGIN] * 5, 403, 403, 403)


def admin_row(allowed: set[str], status: int = 200) -> dict:
    return roles(*[ADMIN_LOGIN] * 5, *[status if r in allowed else 403 for r in ("staff", "support_agent", "supervisor")])


AGENTS = {"support_agent", "supervisor"}
SUPERVISOR = {"supervisor"}
# Per model the admin shows: who may view, add, change and delete (the data migrations' groups:
# both view the portal's apps and change disputes; a supervisor also edits return conditions
# and unlocks locked-out logins). API keys, webhooks and groups are nobody's here.
ADMIN_MODELS = {
    "auth.group": (set(), set(), set(), set()),
    "accounts.user": (AGENTS, set(), set(), set()),
    "axes.accessattempt": (AGENTS, set(), set(), SUPERVISOR),
    "account.emailaddress": (AGENTS, set(), SUPERVISOR, set()),  # a supervisor marks one verified
    # Who signed in with the identity provider's account: read-only, for staff who may view users.
    "socialaccount.socialaccount": (AGENTS, set(), set(), set()),
    "catalog.store": (AGENTS, set(), set(), set()),
    "catalog.category": (AGENTS, set(), set(), set()),
    "catalog.product": (AGENTS, set(), set(), set()),
    "catalog.warehouse": (AGENTS, set(), set(), set()),
    "catalog.stock": (AGENTS, set(), set(), set()),
    "orders.order": (AGENTS, set(), set(), set()),
    "orders.orderline": (AGENTS, set(), set(), set()),
    "orders.orderevent": (AGENTS, set(), set(), set()),
    "disputes.dispute": (AGENTS, set(), AGENTS, set()),
    "disputes.refund": (AGENTS, set(), set(), set()),
    "disputes.categorycondition": (AGENTS, SUPERVISOR, SUPERVISOR, SUPERVISOR),
    "disputes.instructiontemplate": (AGENTS, set(), set(), set()),
    "disputes.disputeevent": (AGENTS, set(), set(), set()),
    "notifications.notification": (AGENTS, set(), set(), set()),
    "api.apikey": (set(), set(), set(), set()),
    "webhooks.webhookendpoint": (set(), set(), set(), set()),
    "webhooks.webhookdelivery": (set(), set(), set(), set()),
}


def admin_model_rows() -> dict[str, dict[str, dict]]:
    """The six URLs of each ModelAdmin. An empty POST re-renders a form (200) for whoever may use
    it; the bare object URL redirects any staff member to the change page (which checks)."""
    rows = {}
    for label, (view, add, change, delete) in ADMIN_MODELS.items():
        app, model = label.split(".")
        name = f"admin:{app}_{model}"
        rows[f"{name}_changelist"] = same(admin_row(view | change))
        rows[f"{name}_add"] = same(admin_row(add))
        rows[f"{name}_history"] = same(admin_row(view | change))
        rows[f"{name}_delete"] = same(admin_row(delete))
        rows[f"{name}_change"] = {"GET": admin_row(view | change), "POST": admin_row(change)}
        rows[f"admin/{app}/{model}/<path:object_id>/"] = same(admin_row(AGENTS | {"staff"}, 302))
    return rows


EXPECTED: dict[str, dict[str, dict]] = {
    # Public, or nobody's data: the same answer for everyone.
    "csp_report": {"GET": everyone(405), "POST": everyone(400)},  # an empty report is refused
    "catalog:product_list": same(everyone(200)),
    "catalog:product_detail": same(everyone(200)),
    "catalog:country_set": post_only(everyone(302)),
    # Accounts (django-allauth): the pages of someone logged out, and of the person logged in.
    # A link's key that does not work answers its "link does not work" page (confirmation: 404).
    "account_login": same(roles(200, *[302] * 7)),  # a logged-in person is sent on
    "account_signup": same(roles(200, *[302] * 7)),
    "account_logout": {"GET": roles(302, *[200] * 7), "POST": everyone(302)},  # GET asks, POST logs out
    "account_inactive": {"GET": everyone(200), "POST": everyone(405)},
    "account_email_verification_sent": {"GET": everyone(200), "POST": everyone(405)},
    "account_confirm_email": same(everyone(404)),
    "account_reset_password": same(everyone(200)),  # an empty form: its errors
    "account_reset_password_done": {"GET": everyone(200), "POST": everyone(405)},
    "account_reset_password_from_key": same(everyone(200)),
    "account_reset_password_from_key_done": {"GET": everyone(200), "POST": everyone(405)},
    "account_email": {"GET": roles(LOGIN, *[200] * 7), "POST": roles(LOGIN, *[302] * 7)},  # nothing chosen
    "account_change_password": same(roles(LOGIN, *[200] * 7)),
    "account_set_password": same(roles(LOGIN, *[302] * 7)),  # has a password: to the change page
    "account_reauthenticate": same(roles(LOGIN, *[200] * 7)),
    # Sign-in and reauthentication codes by e-mail are off (ACCOUNT_REAUTHENTICATION_METHODS).
    "account_request_reauthentication_code": same(roles(LOGIN, *[403] * 7)),
    "account_confirm_reauthentication_code": same(roles(LOGIN, *[403] * 7)),
    "account_confirm_login_code": same(roles(LOGIN, *[302] * 7)),  # no code asked for: sent on
    "accounts:language_set": post_only(everyone(400)),  # no language chosen
    "admin:login": {"GET": roles(200, 200, 200, 200, 200, 302, 302, 302), "POST": everyone(200)},
    "admin:logout": {"GET": roles(302, 302, 302, 302, 302, 405, 405, 405), "POST": everyone(302)},
    "api:schema": {"GET": everyone(200), "POST": everyone(405)},
    "api:docs": {"GET": everyone(200), "POST": everyone(405)},
    "notifications:list": {"GET": roles(LOGIN, *[200] * 7), "POST": everyone(405)},  # each their own
    "notifications:mark_read": post_only(roles(LOGIN, *[302] * 7)),
    # One-click unsubscribe, filled with a valid link of buyer A's: the signed token decides, not the
    # session, so everyone who holds it sees the question (GET) and turns A's message e-mails off
    # (POST, without CSRF as RFC 8058 needs); nobody reads A's data on it. A forged token is a 400
    # for everyone with nothing written (test_a_forged_unsubscribe_link_is_refused_to_everyone).
    "notifications:unsubscribe": same(everyone(200)),
    # Everyone's own profile; an empty form is refused with its errors (no country, no language).
    "accounts:profile": {"GET": roles(LOGIN, *[200] * 7), "POST": roles(LOGIN, *[422] * 7)},
    # A store invitation's link (store A's, pending): the visitor's form (an empty one is 422);
    # someone signed in is asked to log out first, and their POST is refused.
    "accounts:invitation_accept": {"GET": everyone(200), "POST": roles(422, *[403] * 7)},

    # Single sign-on (accounts.sso). Not configured in the tests, so no provider id exists: 404.
    "openid_connect_login": same(everyone(404)),
    "openid_connect_callback": same(everyone(404)),
    "socialaccount_login_cancelled": {"GET": everyone(200), "POST": everyone(405)},
    "socialaccount_login_error": {"GET": everyone(401), "POST": everyone(405)},
    "socialaccount_signup": same(everyone(LOGIN)),  # no sign-up pending in the session: to the login page
    # Each person's own connected accounts; an empty POST re-renders the form with its error.
    "socialaccount_connections": same(roles(LOGIN, *[200] * 7)),
    # allauth's permanent redirects from its old addresses to the ones above.
    "accounts/social/login/cancelled/": same(everyone(301)),
    "accounts/social/login/error/": same(everyone(301)),
    "accounts/social/signup/": same(everyone(301)),
    "accounts/social/connections/": same(everyone(301)),

    # Buyer pages.
    "orders:order_list": same(BUYER_PAGE),
    "orders:order_detail": same(BUYERS_OBJECT),
    "orders:confirm_delivery": post_only(roles(LOGIN, 302, 404, 403, 403, 403, 403, 403)),
    "orders:buy_now": post_only(roles(LOGIN, 302, 302, 403, 403, 403, 403, 403)),  # a public product
    "disputes:dispute_open": {"GET": BUYERS_OBJECT, "POST": roles(LOGIN, 422, 404, 403, 403, 403, 403, 403)},
    "disputes:dispute_list": same(BUYER_PAGE),
    "disputes:dispute_withdraw": post_only(roles(LOGIN, 302, 404, 403, 403, 403, 403, 403)),
    "disputes:dispute_reopen": post_only(roles(LOGIN, 302, 404, 403, 403, 403, 403, 403)),

    # A dispute's pages: its buyer, its store, staff with the view permission.
    "disputes:dispute_detail": same(DISPUTE_PAGE),
    "disputes:attachment": same(DISPUTE_PAGE),
    "disputes:return_slip": same(DISPUTE_PAGE),
    "disputes:dispute_message": post_only(roles(LOGIN, 422, 404, 422, 404, 404, 422, 422)),  # empty message
    # The seller's "instructions" on a dispute awaiting them: an empty form is 422 for the store;
    # anyone else who sees the dispute is sent back to it with the refusal.
    "disputes:dispute_action": post_only(roles(LOGIN, 302, 404, 422, 404, 404, 302, 302)),

    # Seller pages.
    "disputes:seller_desk": same(SELLER_PAGE),
    "orders:seller_order_list": same(SELLER_PAGE),
    "orders:seller_order_ship": post_only(STORES_OBJECT_POSTED),
    "disputes:instruction_templates": {"GET": SELLER_PAGE, "POST": SELLER_FORM_EMPTY},
    "disputes:instruction_template_delete": post_only(STORES_OBJECT_POSTED),
    "catalog:seller_warehouses": {"GET": SELLER_PAGE, "POST": SELLER_FORM_EMPTY},
    "catalog:seller_warehouse_edit": {"GET": roles(LOGIN, 403, 403, 200, 404, 403, 403, 403),
                                      "POST": roles(LOGIN, 403, 403, 422, 404, 403, 403, 403)},
    "catalog:seller_warehouse_deactivate": post_only(STORES_OBJECT_POSTED),
    "catalog:seller_warehouse_reactivate": post_only(STORES_OBJECT_POSTED),
    "api:seller_api_keys": {"GET": SELLER_PAGE, "POST": SELLER_FORM_EMPTY},
    "api:seller_api_key_revoke": post_only(STORES_OBJECT_POSTED),
    "webhooks:endpoint_list": {"GET": SELLER_PAGE, "POST": SELLER_FORM_EMPTY},
    "webhooks:endpoint_detail": {"GET": roles(LOGIN, 403, 403, 200, 404, 403, 403, 403), "POST": everyone(405)},
    "webhooks:endpoint_rotate_secret": post_only(roles(LOGIN, 403, 403, 200, 404, 403, 403, 403)),  # shows it once
    "webhooks:endpoint_disable": post_only(STORES_OBJECT_POSTED),
    "webhooks:endpoint_enable": post_only(STORES_OBJECT_POSTED),
    "webhooks:endpoint_delete": post_only(STORES_OBJECT_POSTED),
    "webhooks:delivery_redeliver": post_only(STORES_OBJECT_POSTED),
    "team:index": {"GET": SELLER_PAGE, "POST": everyone(405)},
    "team:invite": post_only(SELLER_FORM_EMPTY),
    "team:revoke": post_only(STORES_OBJECT_POSTED),

    # The portal's own admin pages.
    "staff_dashboard": same(ADMIN_VIEWERS),
    "staff_rules": same(ADMIN_STAFF),  # the rules in force are for every staff member
    "staff_api_tokens": {"GET": ADMIN_VIEWERS, "POST": roles(*[ADMIN_LOGIN] * 5, 403, 422, 422)},
    # The token is the Support agent's: only they may revoke it; another staff member gets a 404.
    "staff_api_token_revoke": {"GET": roles(*[ADMIN_LOGIN] * 5, 405, 405, 405),
                               "POST": roles(*[ADMIN_LOGIN] * 5, 404, 302, 404)},
    "admin:index": same(ADMIN_STAFF),
    "admin:password_change": same(ADMIN_STAFF),
    "admin:password_change_done": {"GET": ADMIN_STAFF, "POST": roles(*[ADMIN_LOGIN] * 5, 405, 405, 405)},
    "admin:autocomplete": {"GET": ADMIN_NOBODY, "POST": roles(*[ADMIN_LOGIN] * 5, 405, 405, 405)},  # no field asked
    "admin:jsi18n": {"GET": ADMIN_STAFF, "POST": roles(*[ADMIN_LOGIN] * 5, 405, 405, 405)},
    # Django's redirect to the object's page on the site, which checks who asks.
    "admin:view_on_site": same(roles(*[ADMIN_LOGIN] * 5, 302, 302, 302)),
    # Django answers 404 for an app whose models the staff member may not see.
    "admin:app_list": same(roles(*[ADMIN_LOGIN] * 5, 404, 200, 200)),
    "admin:auth_user_password_change": same(ADMIN_NOBODY),  # needs accounts.change_user
    "admin/(?P<url>.*)$": same(roles(*[ADMIN_LOGIN] * 5, 404, 404, 404)),
    "admin:disputes_dispute_export": same(ADMIN_VIEWERS),
    "admin:disputes_dispute_decide": {"GET": ADMIN_SUPERVISOR, "POST": roles(*[ADMIN_LOGIN] * 5, 403, 403, 422)},
    # A staff action is a POST: a GET goes back to the dispute's page (which checks the permission).
    "admin:disputes_dispute_action": {"GET": roles(*[ADMIN_LOGIN] * 5, 302, 302, 302),
                                      "POST": roles(*[ADMIN_LOGIN] * 5, 403, 422, 422)},
    **admin_model_rows(),
}


# What a role outside A's party may read on a page anyway, and why.
MAY_READ = {
    # The rules in force are for every staff member (disputes/tests/test_rules_page.py): they list
    # each return warehouse with its address, the store's configuration, not a buyer's or a dispute's.
    ("staff_rules", "staff"): {SECRET_ADDRESS},
}


# ---------------------------------------------------------------------------------------------
# The world, built once for the module (in a transaction rolled back at its end); each cell
# runs in a savepoint of its own.
@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build_site_world()
            transaction.set_rollback(True)


def fill(pattern: Pattern, site, method: str) -> str:
    route = pattern.route
    if pattern.is_api:
        cell = API_EXPECTATIONS[(pattern.name.removeprefix("api:"), method)]
        return api_path(route, site.api, cell.dispute)
    p = site.params
    model = re.match(r"admin/(\w+)/(\w+)/", route)

    def value(name: str) -> str:
        if name == "object_id" and route.startswith("admin/r/"):
            return p["dispute"]
        if name in ("object_id", "id"):
            return p[f"{model.group(1)}.{model.group(2)}"]
        if name == "content_type_id":
            return p["dispute_content_type"]
        if name == "app_label":
            return "disputes"
        if name == "url":
            return "no-such-page/"
        if name == "key":  # an e-mail confirmation or password reset link that does not work
            return "not-a-real-key"
        if name == "uidb36":
            return "zz"
        if name == "provider_id":
            return "marketplace"  # single sign-on is not configured in the tests: no such provider
        if name == "token":
            return p["unsubscribe_token"] if route.startswith("notifications/") else p["invitation_token"]
        if name == "action":
            return "extend_deadline" if route.startswith("admin/") else "instructions"
        by_name = {"line_pk": "line", "product_pk": "product", "attachment_pk": "attachment",
                   "template_pk": "template"}
        if name in by_name:
            return p[by_name[name]]
        assert name == "pk", f"no value for <{name}> in {route}"
        for prefix, filler in (("disputes/<int:pk>/slip/", "slip_dispute"), ("disputes/", "dispute"),
                               ("orders/<int:pk>/confirm-delivery/", "shipped_order"), ("orders/", "order"),
                               ("seller/orders/", "paid_order"), ("seller/warehouses/", "warehouse"),
                               ("seller/webhooks/deliveries/", "delivery"), ("seller/webhooks/", "webhook"),
                               ("seller/api-keys/", "api_key"), ("seller/team/invitations/", "invitation"), ("admin/api-tokens/", "staff_token"),
                               ("admin/disputes/dispute/", "dispute"), ("products/", "product")):
            if route.startswith(prefix):
                return p[filler]
        raise AssertionError(f"no value for <pk> in {route}")

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), route)  # regular expressions first
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), path)
    return "/" + path.replace("^", "").replace("$", "")


def observe(response) -> object:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/accounts/login/"):
            return LOGIN
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
    return response.status_code


WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)
# Not the refused action: a session's own row, and a key's "last used" stamp when it authenticated.
BOOKKEEPING = re.compile(r'"django_session"|^UPDATE "api_apikey" SET "last_used_at" = [^,]* WHERE')


def run_cell(site, pattern: Pattern, method: str, role: str, url: str | None = None) -> tuple[object, list[str]]:
    """The observed status of one cell (at ``url``, else the pattern filled with A's objects), and
    what went wrong besides the status."""
    problems = []
    url = url or fill(pattern, site, method)
    client = site.client(role)
    with transaction.atomic():
        before = snapshot() if method == "POST" else None
        with CaptureQueriesContext(connection) as queries:
            if method == "GET":
                response = client.get(url)
            elif pattern.is_api:
                cell = API_EXPECTATIONS[(pattern.name.removeprefix("api:"), method)]
                body = {k: (site.api.ours.warehouse.pk if v == "<warehouse>" else v)
                        for k, v in (cell.body or {}).items()}
                response = client.post(url, json.dumps(body), content_type="application/json")
            else:
                response = client.post(url, {})
        content = b"".join(response.streaming_content) if response.streaming else response.content
        status = observe(response)
        refused = status in (LOGIN, ADMIN_LOGIN) or (isinstance(status, int) and status >= 400)
        if refused:
            writes = [q["sql"][:120] for q in queries.captured_queries
                      if WRITES.match(q["sql"]) and not BOOKKEEPING.search(q["sql"])]
            if writes:
                problems.append(f"a refusal wrote to the database: {writes}")
            if before is not None and snapshot() != before:
                problems.append("a refusal changed the database")
        insider = role in INSIDERS or (pattern.is_api and role == "key_a")
        if not insider:
            allowed = MAY_READ.get((pattern.name, role), set())
            leaked = [s for s in site.leaks(content, url) if s not in allowed]
            if pattern.is_api:
                leaked += api_leaks(site.api, content) if content else []
            if leaked:
                problems.append(f"{role} read A's data: {leaked}")
        if isinstance(status, int) and status >= 500:
            problems.append(f"server error: {content[:300]!r}")
        transaction.set_rollback(True)
    return status, problems


def methods_of(pattern: Pattern) -> list[str]:
    if pattern.is_api:
        return [m for m in ("GET", "POST") if (pattern.name.removeprefix("api:"), m) in API_EXPECTATIONS]
    return ["GET", "POST"]


def expected_row(pattern: Pattern, method: str) -> dict | None:
    if pattern.is_api:
        cell = API_EXPECTATIONS.get((pattern.name.removeprefix("api:"), method))
        if cell is None:
            return None
        s = cell.statuses
        return roles(*[s["no_key"]] * 8, key_a=s["store"], key_b=s["other_store"])
    return EXPECTED.get(pattern.name, {}).get(method)


CELLS = [(p, m) for p in PATTERNS for m in methods_of(p)]


def test_every_url_has_its_expectations_and_no_expectation_is_stale(summary):
    names = {p.name for p in PATTERNS}
    missing = sorted(f"{m} /{p.route} ({p.name})" for p, m in CELLS if expected_row(p, m) is None)
    assert DISCOVER or missing == [], "URLs without expectations in the matrix: classify them"
    assert set(EXPECTED) - names == set(), "expectations for URLs that no longer exist"
    assert set(ALLOWLIST) <= {p.route for p in url_patterns()}, "allowlisted URLs that no longer exist"
    summary(f"site authorization matrix: {len(url_patterns())} URL patterns, {len(ALLOWLIST)} framework URLs "
            f"allowlisted, {len(PATTERNS)} in the matrix: {len(CELLS)} URL-methods x {len(ROLES)} roles "
            f"= {len(CELLS) * len(ROLES)} cells")


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "method"), CELLS, ids=[f"{m} {p.name}" for p, m in CELLS])
def test_the_row(site, pattern, method):
    expected = expected_row(pattern, method)
    observed, problems = {}, []
    for role in ROLES:
        observed[role], cell_problems = run_cell(site, pattern, method, role)
        problems += [f"{role}: {p}" for p in cell_problems]
    if DISCOVER:
        print(f"\nOBSERVED {pattern.name!r} {method} {observed}")
        if problems:
            print(f"PROBLEMS {pattern.name!r} {method} {problems}")
        return
    assert expected is not None, f"{method} /{pattern.route} ({pattern.name}) has no expectations: add them"
    wrong = {role: f"expected {expected[role]}, got {observed[role]}" for role in ROLES
             if observed[role] != expected[role]}
    assert wrong == {} and problems == [], (fill(pattern, site, method), wrong, problems)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_unsubscribe_link_is_refused_to_everyone(site, method):
    (pattern,) = [p for p in PATTERNS if p.name == "notifications:unsubscribe"]
    valid = site.params["unsubscribe_token"]
    forged = valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB")
    url = fill(pattern, site, method).replace(valid, forged)
    observed, problems = {}, []
    for role in ROLES:
        observed[role], cell_problems = run_cell(site, pattern, method, role, url=url)
        problems += [f"{role}: {p}" for p in cell_problems]
    assert observed == {role: 400 for role in ROLES} and problems == []


@pytest.mark.django_db
def test_the_leak_check_sees_As_data_where_it_is(site):
    """The check is not blind: A's own pages hold what it looks for."""
    p = site.params
    for role, url, expected in [
        ("buyer_a", f"/disputes/{p['dispute']}/", {"link", SECRET_DESCRIPTION}),
        ("buyer_a", "/orders/", {"link", "T-"}),
        ("seller_a", "/seller/", {"link"}),
        ("seller_a", "/seller/warehouses/", {SECRET_ADDRESS}),
        ("support_agent", "/admin/disputes/dispute/", {"link"}),
    ]:
        with transaction.atomic():
            response = site.client(role).get(url)
            transaction.set_rollback(True)
        assert response.status_code == 200, (role, url)
        found = " ".join(site.leaks(response.content, "/nothing-requested/"))
        assert all(marker in found for marker in expected), (role, url, found)
