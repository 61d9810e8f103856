"""Every model is in the admin, and each change list, search and change page renders."""
import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from orders.tests.factories import order_with_line

MODELS = [model for model in admin.site._registry if model._meta.app_label in {"accounts", "catalog", "orders"}]


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    order_with_line(delivered=True)
    return client


def test_every_project_model_is_registered():
    names = {f"{m._meta.app_label}.{m.__name__}" for m in MODELS}
    assert names == {
        "accounts.User",
        "catalog.Store", "catalog.Category", "catalog.Product", "catalog.Warehouse", "catalog.Stock",
        "orders.Order", "orders.OrderLine", "orders.OrderEvent",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_list_search_and_change_page_render(staff_client, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(changelist, {"q": "test"}).status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert staff_client.get(change).status_code == 200


@pytest.mark.django_db
def test_orders_cannot_be_typed_in_and_their_timeline_cannot_be_edited(staff_client):
    assert staff_client.get(reverse("admin:orders_order_add")).status_code == 403
    assert staff_client.get(reverse("admin:orders_orderevent_add")).status_code == 403
