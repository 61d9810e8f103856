"""The API against its own OpenAPI schema (schemathesis through the WSGI app).

The schema is loaded from ``/api/schema/`` as a client would; every operation is then called
with cases generated from it (valid ones and invalid ones), with the store's key and ids of
the store's disputes in every state (a wrong id now and then), each case in a savepoint
rolled back afterwards, so that every case meets the seeded states. Every answer must be
no server error and must conform to the schema: a documented status code, the documented
content type, headers and body. Runs in the normal suite, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .world import build_world

pytestmark = pytest.mark.django_db

# Cases per operation and generation mode: 13 operations x 2 modes x 40, under a minute.
EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def wsgi_app():
    """Django's WSGI app, keeping the test's connection open between requests (as the test
    client does): the whole run is inside the test's transaction."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def path_parameters(world, operation) -> st.SearchStrategy[dict]:
    names = {p.name for p in operation.path_parameters}
    if not names:
        return st.just({})
    if "file_pk" in names:
        pairs = [(world.ours.disputes[name].pk, file.pk) for name, file in world.ours.files.items()]
        pairs.append((world.theirs.disputes["local_awaiting_seller"].pk,
                      world.theirs.files["local_awaiting_seller"].pk))  # another store's: a 404
        return st.sampled_from(pairs).map(lambda pair: {"id": pair[0], "file_pk": pair[1]})
    if operation.path.startswith("/api/v1/webhooks/"):  # the store's endpoint, or another store's: a 404
        return st.sampled_from([world.ours.webhook.pk, world.theirs.webhook.pk]).map(lambda pk: {"id": pk})
    ids = [*world.dispute_ids(), world.theirs.disputes["local_awaiting_seller"].pk]
    return st.sampled_from(ids).map(lambda pk: {"id": pk})


def seeded_cases(world, operations) -> list:
    """A valid request per operation, so that every success answer is checked against the
    schema too (generated bodies rarely name an existing warehouse or a valid amount)."""
    d, by_label = world.ours.disputes, {op.label: op for op in operations}
    answers = dict.fromkeys(["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels",
                             "item_identity"], "meets")
    wanted = [
        ("GET /api/v1/disputes/", {}, None),
        ("GET /api/v1/disputes/{id}/", {"id": d["return_in_transit"].pk}, None),
        ("POST /api/v1/disputes/{id}/instructions/", {"id": d["local_awaiting_seller"].pk},
         {"warehouse": world.ours.warehouse.pk, "method": "drop_off", "carrier": "Russian Post", "text": "Hi."}),
        ("POST /api/v1/disputes/{id}/instructions/", {"id": d["local_awaiting_seller"].pk},
         {"template": world.ours.template.pk}),
        ("POST /api/v1/disputes/{id}/accept/", {"id": d["refund_awaiting_seller"].pk}, None),
        ("POST /api/v1/disputes/{id}/counter-offer/", {"id": d["refund_awaiting_seller"].pk},
         {"amount": "1000.00", "message": "Half?"}),
        ("POST /api/v1/disputes/{id}/reject/", {"id": d["refund_awaiting_seller"].pk}, {"reason": "Used."}),
        ("POST /api/v1/disputes/{id}/inspection/", {"id": d["return_in_transit"].pk},
         {"answers": answers, "general_notes": "Fine."}),
        ("POST /api/v1/disputes/{id}/inspection/", {"id": d["return_in_transit"].pk},
         {"answers": {**answers, "signs_of_use": "fails"}, "notes": {"signs_of_use": "Scuffed."}}),
        ("POST /api/v1/disputes/{id}/decision/", {"id": d["escalated"].pk},
         {"decision": "refund_partial", "amount": "1000.00", "reason": "Half is fair."}),
        ("GET /api/v1/disputes/{id}/messages/", {"id": d["local_awaiting_seller"].pk}, None),
        ("POST /api/v1/disputes/{id}/messages/", {"id": d["local_awaiting_seller"].pk}, {"body": "To Podolsk."}),
        ("GET /api/v1/disputes/{id}/files/{file_pk}/", {"id": d["rejected"].pk, "file_pk": world.ours.files["rejected"].pk},
         None),
        ("GET /api/v1/warehouses/", {}, None),
        ("GET /api/v1/instruction-templates/", {}, None),
        ("GET /api/v1/webhooks/endpoints/", {}, None),
        ("GET /api/v1/webhooks/endpoints/{id}/", {"id": world.ours.webhook.pk}, None),
        ("GET /api/v1/webhooks/endpoints/{id}/deliveries/", {"id": world.ours.webhook.pk}, None),
    ]
    cases = []
    for label, params, body in wanted:
        kwargs = {"path_parameters": params}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        cases.append(by_label[label].Case(**kwargs))
    return cases


def point_at_seeded_objects(world, case):
    """A generated valid body names the store's warehouse or template now and then."""
    if isinstance(case.body, dict):
        if "warehouse" in case.body:
            case.body["warehouse"] = world.ours.warehouse.pk
        if "template" in case.body:
            case.body["template"] = world.ours.template.pk
    return case


def test_every_operation_conforms_to_the_schema_with_no_server_error(world, wsgi_app, summary):
    started = time.monotonic()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13, [op.label for op in operations]
    store_key = {"Authorization": f"Bearer {world.ours.key}"}
    supervisor = {"Authorization": f"Bearer {world.staff_tokens['Supervisor']}"}
    cases: dict[str, int] = {}
    statuses: dict[str, set[int]] = {}
    failures: list[str] = []

    def check(case) -> None:
        op = case.operation
        # Deciding is for staff tokens; a store's key is refused (the authorization matrix shows it).
        headers = supervisor if op.path.endswith("/decision/") else store_key
        cases[op.label] = cases.get(op.label, 0) + 1
        with transaction.atomic():
            try:
                response = case.call(headers=headers)
                statuses.setdefault(op.label, set()).add(response.status_code)
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                failures.extend(f"{op.label} [{response.status_code}] {failure.title}: "
                                f"{case.as_curl_command(headers=headers)}" for failure in group.exceptions)
            finally:
                transaction.set_rollback(True)  # the next case meets the seeded states again

    for case in seeded_cases(world, operations):
        check(case)
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            strategy = path_parameters(world, operation).flatmap(
                lambda params, op=operation, m=mode: op.as_strategy(generation_mode=m, path_parameters=params))
            if mode == schemathesis.GenerationMode.POSITIVE:
                strategy = strategy.map(lambda case: point_at_seeded_objects(world, case))

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                check(case)

            run()

    elapsed = time.monotonic() - started
    summary(f"schemathesis {schemathesis.__version__}: {len(operations)} operations, {sum(cases.values())} cases, "
            f"{len(failures)} failures, {elapsed:.1f} s")
    for label in sorted(cases):
        print(f"  {label}: {cases[label]} cases, statuses {sorted(statuses.get(label, ()))}")
    assert set(cases) == {op.label for op in operations}
    assert not failures, "\n".join(failures[:20])
    # The seeded requests reached every operation: each one answered with a success.
    for label, seen in statuses.items():
        assert any(200 <= code < 300 for code in seen), (label, seen)
