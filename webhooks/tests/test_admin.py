"""Staff read endpoints and deliveries in the admin, never change them; the secret is not shown."""
import pytest
from django.test import Client

from accounts.tests.factories import StaffFactory
from disputes.services import dispute_message_post
from disputes.tests.factories import DisputeFactory
from webhooks.models import WebhookDelivery

from .factories import EndpointFactory

pytestmark = pytest.mark.django_db


def test_staff_read_endpoints_and_deliveries_without_secrets_or_changes():
    dispute = DisputeFactory()
    endpoint = EndpointFactory(store=dispute.store)
    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
    delivery = WebhookDelivery.objects.get()
    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))

    for address in ("/admin/webhooks/webhookendpoint/", f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
                    "/admin/webhooks/webhookdelivery/", f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"):
        page = staff.get(address)
        assert page.status_code == 200, address
        assert endpoint.secret not in page.content.decode()
    assert staff.get("/admin/webhooks/webhookendpoint/add/").status_code == 403
    assert staff.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").context["has_change_permission"] is False
