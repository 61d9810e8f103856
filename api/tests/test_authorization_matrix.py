"""Who may call what: every endpoint of the API (read from the URL resolver, so a new one is in
the matrix by itself, and fails until it has its expectations) x its methods x each caller.

Callers: no key, a malformed key, a revoked key of the store, another store's key, the
store's key, and staff tokens of a Support agent and of a Supervisor. Each cell states the
status; a refused request changes nothing in the database, and the refusal of anyone but the
store and staff holds none of the store's data (dispute ids, order numbers, product titles,
buyer names, the store's name). Another store's successful reads hold none of it either.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from .world import build_world, snapshot

pytestmark = pytest.mark.django_db

CALLERS = ["no_key", "malformed_key", "revoked_key", "other_store", "store", "support_agent", "supervisor"]
PREFIX = "api/v1/"
ANSWERS = dict.fromkeys(["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"],
                        "meets")


def api_endpoints() -> list[tuple[str, str, str]]:
    """(name, route, method) for every pattern of the ``api`` namespace under /api/v1/."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "api" and route.startswith(PREFIX):
                view = getattr(pattern.callback, "view_class", None)
                methods = [m for m in ("get", "post") if view is None or hasattr(view, m)]
                found.extend((pattern.name, route, method.upper()) for method in methods)

    walk(get_resolver().url_patterns, "", None)
    return found


@dataclass(frozen=True)
class Cell:
    """The dispute the request is about (a key of the world's disputes), the body of a POST,
    and the status per caller. ``wrong_state``: a caller and a dispute where the lifecycle
    refuses the action now (409)."""

    dispute: str | None
    statuses: dict[str, int]
    body: dict | None = None
    wrong_state: tuple[str, str] | None = None


def everyone(store: int, other_store: int, staff: int = 200, support_agent: int | None = None,
             supervisor: int | None = None) -> dict[str, int]:
    return {"no_key": 401, "malformed_key": 401, "revoked_key": 401, "other_store": other_store, "store": store,
            "support_agent": staff if support_agent is None else support_agent,
            "supervisor": staff if supervisor is None else supervisor}


# The store's answers are the store's: staff tokens read them but may not give them (403).
EXPECTATIONS: dict[tuple[str, str], Cell] = {
    ("dispute_list", "GET"): Cell(None, everyone(200, 200)),
    ("dispute_detail", "GET"): Cell("local_awaiting_seller", everyone(200, 404)),
    ("send_instructions", "POST"): Cell(
        "local_awaiting_seller", everyone(200, 404, staff=403),
        {"warehouse": "<warehouse>", "method": "drop_off", "carrier": "Russian Post"},
        wrong_state=("store", "return_in_transit")),
    ("accept", "POST"): Cell("refund_awaiting_seller", everyone(200, 404, staff=403), {},
                             wrong_state=("store", "rejected")),
    ("counter_offer", "POST"): Cell("refund_awaiting_seller", everyone(200, 404, staff=403),
                                    {"amount": "1000.00", "message": "Half?"}, wrong_state=("store", "counter_offered")),
    ("reject", "POST"): Cell("refund_awaiting_seller", everyone(200, 404, staff=403), {"reason": "Used."},
                             wrong_state=("store", "escalated")),
    ("inspect", "POST"): Cell("return_in_transit", everyone(200, 404, staff=403), {"answers": ANSWERS},
                              wrong_state=("store", "awaiting_buyer_shipment")),
    # Deciding an escalation is a Supervisor's: a Support agent is refused, as is the store.
    ("decide", "POST"): Cell("escalated", everyone(403, 404, support_agent=403, supervisor=200),
                             {"decision": "refund_full", "reason": "The goods were new."},
                             wrong_state=("supervisor", "refund_awaiting_seller")),
    ("messages", "GET"): Cell("local_awaiting_seller", everyone(200, 404)),
    # Staff write to both sides.
    ("messages", "POST"): Cell("local_awaiting_seller", everyone(201, 404, staff=201), {"body": "Hello."}),
    ("file", "GET"): Cell("local_awaiting_seller", everyone(200, 404)),
    ("warehouses", "GET"): Cell(None, everyone(200, 200)),
    ("instruction_templates", "GET"): Cell(None, everyone(200, 200)),
    # Webhooks are a store's own: another store (and a staff token, which has no store) lists
    # its own (none) and gets a 404 for the store's endpoint and its deliveries.
    ("webhook_endpoint_list", "GET"): Cell(None, everyone(200, 200)),
    ("webhook_endpoint_detail", "GET"): Cell(None, everyone(200, 404, staff=404)),
    ("webhook_delivery_list", "GET"): Cell(None, everyone(200, 404, staff=404)),
}

ENDPOINTS = api_endpoints()
CELLS = [(name, route, method, caller) for name, route, method in ENDPOINTS for caller in CALLERS] + [
    (name, route, method, "wrong_state") for name, route, method in ENDPOINTS
    if (cell := EXPECTATIONS.get((name, method))) is not None and cell.wrong_state is not None]


def test_every_endpoint_has_its_expectations_and_no_expectation_is_stale(summary):
    found = {(name, method) for name, _route, method in ENDPOINTS}
    assert found - set(EXPECTATIONS) == set(), "endpoints without expectations in the matrix"
    assert set(EXPECTATIONS) - found == set(), "expectations for endpoints that no longer exist"
    summary(f"API authorization matrix: {len(found)} endpoint-methods x {len(CALLERS)} callers "
            f"+ {len(CELLS) - len(found) * len(CALLERS)} wrong-state cells = {len(CELLS)} cells")


@pytest.fixture
def world():
    return build_world()


def header(world, caller: str) -> str | None:
    return {
        "no_key": None,
        "malformed_key": "Bearer rp_notakey",
        "revoked_key": f"Bearer {world.revoked_key}",
        "other_store": f"Bearer {world.theirs.key}",
        "store": f"Bearer {world.ours.key}",
        "support_agent": f"Bearer {world.staff_tokens['Support agent']}",
        "supervisor": f"Bearer {world.staff_tokens['Supervisor']}",
    }[caller]


def path(route: str, world, dispute_name: str | None) -> str:
    dispute = world.ours.disputes[dispute_name] if dispute_name else None

    def value(match: re.Match) -> str:
        if match.group(1) == "pk" and route.startswith(f"{PREFIX}webhooks/"):
            return str(world.ours.webhook.pk)
        if match.group(1) == "pk":
            return str(dispute.pk)
        if match.group(1) == "file_pk":
            return str(world.ours.files[dispute_name].pk)
        raise AssertionError(f"no value for <{match.group(1)}> in {route}")

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def store_secrets(world) -> set[str]:
    """What of the store a stranger must never read: its orders' numbers, its products'
    titles, its buyer's name, its own name (its disputes' ids are checked apart)."""
    ours = world.ours
    found = {ours.store.name, ours.buyer.get_full_name(), ours.buyer.username}
    for dispute in ours.disputes.values():
        found |= {dispute.order_line.order.number, dispute.order_line.product.title}
    return found


def leaks(world, content: bytes) -> list[str]:
    text = content.decode("utf-8", "replace")
    leaked = [s for s in store_secrets(world) if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)]
    ours = set(world.dispute_ids())
    try:
        body = json.loads(text)
    except ValueError:
        return leaked + ["(not JSON)"]
    if isinstance(body, dict) and set(body) == {"code", "message", "fields"}:
        numbers = {int(n) for n in re.findall(r"\d+", json.dumps(body))}
        leaked += [f"dispute id {pk} in a refusal" for pk in sorted(numbers & ours)]
    items = body.get("results", []) if isinstance(body, dict) else body
    leaked += [f"dispute {item['id']} listed" for item in items
               if isinstance(item, dict) and "state" in item and item.get("id") in ours]
    return sorted(leaked)


@pytest.mark.parametrize(("name", "route", "method", "caller"), CELLS,
                         ids=[f"{m} {n} {c}" for n, _r, m, c in CELLS])
def test_the_cell(world, name, route, method, caller):
    cell = EXPECTATIONS.get((name, method))
    assert cell is not None, f"{method} /{route} ({name}) has no expectations in the matrix: add them"
    dispute_name = cell.dispute
    if caller == "wrong_state":
        caller, dispute_name = cell.wrong_state
        expected = 409
    else:
        expected = cell.statuses[caller]
    client = Client()
    if (auth := header(world, caller)) is not None:
        client.defaults["HTTP_AUTHORIZATION"] = auth
    url = path(route, world, dispute_name)
    before = snapshot()

    if method == "GET":
        response = client.get(url)
    else:
        body = {k: (world.ours.warehouse.pk if v == "<warehouse>" else v) for k, v in (cell.body or {}).items()}
        response = client.post(url, json.dumps(body), content_type="application/json")

    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == expected, (caller, url, content[:500])
    if expected >= 400:
        assert response["Content-Type"] == "application/json"
        assert set(response.json()) == {"code", "message", "fields"}
        assert snapshot() == before, "a refused request changed the database"
        if expected == 401:
            assert response["WWW-Authenticate"] == "Bearer"
    if caller in {"no_key", "malformed_key", "revoked_key", "other_store"}:
        assert leaks(world, content) == [], f"{caller} read the store's data"


def test_the_leak_check_sees_the_stores_data_where_it_is(world):
    """The check above is not blind: the store's own answers hold what it looks for."""
    store = Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}")
    dispute = world.ours.disputes["local_awaiting_seller"]
    assert leaks(world, store.get(f"/api/v1/disputes/{dispute.pk}/").content) != []
    assert f"dispute {dispute.pk} listed" in leaks(world, store.get("/api/v1/disputes/").content)
    refusal = json.dumps({"code": "x", "message": f"Dispute {dispute.pk} is not yours.", "fields": {}}).encode()
    assert leaks(world, refusal) == [f"dispute id {dispute.pk} in a refusal"]
