"""The people, keys and objects of the whole-site authorization matrix
(``test_authorization_matrix``): the API matrix's world (``api.tests.world``: store A with a
dispute in every state and its buyer Anna; store B with its buyer Boris), plus staff users of
each kind, an object of every model the admin shows, and the values that fill each URL's
parameters with buyer A's / store A's objects."""
from __future__ import annotations

import re
from secrets import token_urlsafe
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from accounts.invitations import TOKEN_BYTES, store_invitation_create, token_hash
from accounts.models import StoreInvitation
from accounts.tests.factories import SellerFactory, StaffFactory
from api.keys import issue_key
from api.models import ApiKey
from api.tests.world import World, build_world
from catalog.models import Stock
from disputes.models import CategoryCondition, Dispute, DisputeEvent, DisputeMessage, Refund
from disputes.tests.factories import disputable_line
from notifications.kinds import Kind
from notifications.models import Notification
from notifications.unsubscribe import unsubscribe_token
from orders.models import Order, OrderEvent
from orders.tests.factories import order_with_line
from webhooks.models import WebhookDelivery

ROLES = ("anonymous", "buyer_a", "buyer_b", "seller_a", "seller_b", "staff", "support_agent", "supervisor",
         "key_a", "key_b")
# Who may read A's data (buyer A's orders and disputes, store A's desk): everyone else is an outsider.
# A store's API key is A's insider on the API only: the pages do not take keys.
INSIDERS = frozenset({"buyer_a", "seller_a", "support_agent", "supervisor"})

# Written into A's objects so that a leak is found by a plain search of the body.
SECRET_DESCRIPTION = "Anna-secret-description-7731"
SECRET_ADDRESS = "Ulitsa Sekretnaya 17, office 4"
SECRET_EMAIL = "anna.private@example.net"


@dataclass
class SiteWorld:
    api: World
    sessions: dict[str, str]  # role -> session key
    params: dict[str, str] = field(default_factory=dict)  # filler name -> value
    secrets: set[str] = field(default_factory=set)
    secret_paths: set[str] = field(default_factory=set)  # links to A's objects

    def client(self, role: str) -> Client:
        client = Client()
        if role == "key_a":
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.api.ours.key}"
        elif role == "key_b":
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.api.theirs.key}"
        elif role in self.sessions:
            from django.conf import settings

            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client

    def leaks(self, content: bytes, requested: str) -> list[str]:
        """A's data in ``content``; the requested path itself (echoed by a 404 page, or in a
        ``next`` parameter) is not a leak."""
        text = content.decode("utf-8", "replace").replace(requested, "")
        found = [s for s in sorted(self.secrets) if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)]
        found += [f"link {p}" for p in sorted(self.secret_paths) if p in text]
        return found


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key


def build_site_world() -> SiteWorld:
    api = build_world()
    ours, theirs = api.ours, api.theirs
    staff = StaffFactory(username="staff-nobody")
    agent = StaffFactory(username="agent-smith")
    agent.groups.add(Group.objects.get(name="Support agent"))
    supervisor = StaffFactory(username="supervisor-sam")
    supervisor.groups.add(Group.objects.get(name="Supervisor"))
    agent_token, _secret = issue_key(store=None, user=agent, name="Agent desk")

    buyer = ours.buyer
    buyer.email = SECRET_EMAIL
    buyer.save(update_fields=["email"])
    address = EmailAddress.objects.get(user=buyer)
    address.email = SECRET_EMAIL
    address.save(update_fields=["email"])
    Dispute.objects.filter(store=ours.store).update(description=SECRET_DESCRIPTION)
    ours.warehouse.address = SECRET_ADDRESS
    ours.warehouse.save(update_fields=["address"])

    dispute = ours.disputes["local_awaiting_seller"]
    fresh_line = disputable_line(buyer=buyer, store=ours.store, warehouse_country=None)  # no dispute yet
    shipped = order_with_line(buyer=buyer, store=ours.store, status=Order.Status.SHIPPED,
                              shipped_at=timezone.now(), line__product=fresh_line.product)
    paid = order_with_line(buyer=buyer, store=ours.store, line__product=fresh_line.product)
    stock = Stock.objects.create(product=fresh_line.product, warehouse=ours.warehouse, quantity=3)
    order_event = OrderEvent.objects.create(order=paid, actor=buyer, to_status=Order.Status.PAID)
    attempt = AccessAttempt.objects.create(username=buyer.username, ip_address="192.0.2.7", user_agent="test",
                                           failures_since_start=1, get_data="", post_data="", http_accept="",
                                           path_info="/accounts/login/")
    condition = CategoryCondition.objects.filter(category=fresh_line.product.category).first() or \
        CategoryCondition.objects.create(category=fresh_line.product.category, code="signs_of_use")
    refund = Refund.objects.filter(dispute__store=ours.store).order_by("pk").first()
    delivery = WebhookDelivery.objects.filter(endpoint=ours.webhook).order_by("created_at").first()
    notification = Notification.objects.filter(recipient=buyer).order_by("pk").first()
    assert refund and delivery and notification, (refund, delivery, notification)

    # A pending invitation to store A, sent by a colleague of A's seller (the link's holder reads
    # who invited them, as the e-mail says).
    colleague = SellerFactory(store=ours.store, username="inviting-colleague", display_name="Inviting colleague")
    invitation = store_invitation_create(invited_by=colleague, email="invited.person@example.org", language="en")
    invitation_token = token_urlsafe(TOKEN_BYTES)
    StoreInvitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash(invitation_token))

    sessions = {role: _session(user) for role, user in {
        "buyer_a": buyer, "buyer_b": theirs.buyer, "seller_a": ours.seller, "seller_b": theirs.seller,
        "staff": staff, "support_agent": agent, "supervisor": supervisor}.items()}

    params = {
        "dispute": dispute.pk,
        # A one-click unsubscribe link from an e-mail to buyer A (turns their message e-mails off).
        "unsubscribe_token": unsubscribe_token(user_id=buyer.pk, kind=Kind.MESSAGE),
        "slip_dispute": ours.disputes["awaiting_buyer_shipment"].pk,
        "attachment": ours.files["local_awaiting_seller"].pk,
        "line": fresh_line.pk,
        "order": dispute.order_line.order_id,
        "shipped_order": shipped.pk,
        "paid_order": paid.pk,
        "product": fresh_line.product_id,
        "template": ours.template.pk,
        "warehouse": ours.warehouse.pk,
        "webhook": ours.webhook.pk,
        "delivery": delivery.pk,
        "api_key": ApiKey.objects.get(store=ours.store, revoked_at=None).pk,
        "staff_token": agent_token.pk,
        "invitation": invitation.pk,
        "invitation_token": invitation_token,
        "dispute_content_type": ContentType.objects.get_for_model(Dispute).pk,
        # The admin's objects, by model label.
        "auth.group": Group.objects.get(name="Support agent").pk,
        "accounts.user": buyer.pk,
        "account.emailaddress": address.pk,
        "axes.accessattempt": attempt.pk,
        "catalog.store": ours.store.pk,
        "catalog.category": fresh_line.product.category_id,
        "catalog.product": fresh_line.product_id,
        "catalog.warehouse": ours.warehouse.pk,
        "catalog.stock": stock.pk,
        "orders.order": dispute.order_line.order_id,
        "orders.orderline": dispute.order_line_id,
        "orders.orderevent": order_event.pk,
        "disputes.dispute": dispute.pk,
        "disputes.refund": refund.pk,
        "disputes.categorycondition": condition.pk,
        "disputes.instructiontemplate": ours.template.pk,
        "disputes.disputeevent": DisputeEvent.objects.filter(dispute__store=ours.store).order_by("pk").first().pk,
        "notifications.notification": notification.pk,
        "api.apikey": ApiKey.objects.get(store=ours.store, revoked_at=None).pk,
        "webhooks.webhookendpoint": ours.webhook.pk,
        "webhooks.webhookdelivery": delivery.pk,
    }

    # Buyer A signed in once with the marketplace's identity provider (single sign-on).
    params["socialaccount.socialaccount"] = SocialAccount.objects.create(
        user=buyer, provider="marketplace", uid="anna-at-the-marketplace", extra_data={"userinfo": {}}).pk

    a_disputes = Dispute.objects.filter(store=ours.store).select_related("order_line__order")
    a_orders = Order.objects.filter(buyer=buyer)
    secrets = {SECRET_DESCRIPTION, SECRET_ADDRESS, SECRET_EMAIL, buyer.get_full_name(),
               ours.seller.email, ours.seller.get_full_name()}
    secrets |= {o.number for o in a_orders}
    secrets |= {m.body for m in DisputeMessage.objects.filter(dispute__store=ours.store)}
    secret_paths = {f"/disputes/{d.pk}/" for d in a_disputes} | {f"/orders/{o.pk}/" for o in a_orders}
    secret_paths |= {f"/admin/disputes/dispute/{d.pk}/" for d in a_disputes}
    return SiteWorld(api=api, sessions=sessions, params={k: str(v) for k, v in params.items()},
                     secrets=secrets, secret_paths=secret_paths)
