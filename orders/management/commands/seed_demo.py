"""Idempotent demo data (DESIGN §7): buyers in Russia and Ukraine, sellers, staff,
a categorised catalog with and without local return, warehouses, delivered orders."""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_email_mark_verified
from catalog.models import Category, Product, Stock, Store, Warehouse
from disputes.models import Dispute
from disputes.services import dispute_open
from orders.models import Order, OrderEvent, OrderLine

# bandit: the demo accounts' documented password (README), for local demo data only.
DEMO_PASSWORD = "returns-demo"  # nosec B105

CATEGORIES = [
    # slug, name, parent slug, kind, not returnable once opened
    ("apparel", "Apparel", None, Category.Kind.APPAREL, False),
    ("t-shirts", "T-shirts and tops", "apparel", Category.Kind.APPAREL, False),
    ("dresses", "Dresses", "apparel", Category.Kind.APPAREL, False),
    ("underwear", "Underwear", "apparel", Category.Kind.APPAREL, True),
    ("jewelry-watches", "Jewelry and watches", None, Category.Kind.JEWELRY, False),
    ("watches", "Watches", "jewelry-watches", Category.Kind.JEWELRY, False),
    ("rings", "Rings", "jewelry-watches", Category.Kind.JEWELRY, False),
    ("eyewear", "Eyewear", "jewelry-watches", Category.Kind.JEWELRY, False),
    ("beauty", "Beauty", None, Category.Kind.COSMETICS, True),
    ("skin-care", "Skin care", "beauty", Category.Kind.COSMETICS, True),
    ("perfume", "Perfume", "beauty", Category.Kind.COSMETICS, True),
    ("electronics", "Electronics", None, Category.Kind.ELECTRONICS, False),
    ("audio", "Audio", "electronics", Category.Kind.ELECTRONICS, False),
    ("chargers", "Chargers and power banks", "electronics", Category.Kind.ELECTRONICS, False),
    ("smart-watches", "Smart watches", "electronics", Category.Kind.ELECTRONICS, False),
]

# title, store key, category slug, price, local return, {warehouse key: units}
PRODUCTS = [
    ("Wireless earbuds Pro", "dragon", "audio", "3490.00", True, {"moscow": 25}),
    ("Power bank 20000 mAh", "dragon", "chargers", "1990.00", True, {"podolsk": 40}),
    ("Smart watch S8", "dragon", "smart-watches", "5990.00", True, {}),
    ("Men's automatic watch", "dragon", "watches", "7490.00", True, {"moscow": 5}),
    ("Silver ring with cubic zirconia", "dragon", "rings", "1290.00", False, {}),
    ("Polarised sunglasses", "dragon", "eyewear", "990.00", True, {}),
    ("Hydrating face cream, 50 ml", "dragon", "skin-care", "890.00", True, {"podolsk": 100}),
    ("Eau de parfum Jasmine, 30 ml", "dragon", "perfume", "2490.00", False, {}),
    ("USB-C fast charger 65 W", "dragon", "chargers", "1490.00", False, {"podolsk": 60}),
    ("Oversized cotton T-shirt", "bosphorus", "t-shirts", "790.00", True, {}),
    ("Summer linen dress", "bosphorus", "dresses", "2990.00", True, {}),
    ("Cotton briefs, pack of 3", "bosphorus", "underwear", "690.00", False, {}),
    ("Silk scarf", "bosphorus", "apparel", "1590.00", False, {"podolsk": 10}),
]

# number, buyer key, product title, quantity, status, days since the last step
ORDERS = [
    ("DEMO-1001", "buyer_ru", "Wireless earbuds Pro", 1, Order.Status.DELIVERED, 2),
    ("DEMO-1002", "buyer_ru", "Men's automatic watch", 1, Order.Status.DELIVERED, 5),
    ("DEMO-1003", "buyer_ru", "Hydrating face cream, 50 ml", 2, Order.Status.DELIVERED, 1),
    ("DEMO-1004", "buyer_ru", "Oversized cotton T-shirt", 2, Order.Status.DELIVERED, 3),
    ("DEMO-1005", "buyer_ru", "Power bank 20000 mAh", 1, Order.Status.SHIPPED, 2),
    ("DEMO-1006", "buyer_ru", "Smart watch S8", 1, Order.Status.PAID, 0),
    ("DEMO-1007", "buyer_ru", "Polarised sunglasses", 1, Order.Status.DELIVERED, 20),
    ("DEMO-2001", "buyer_ua", "Wireless earbuds Pro", 1, Order.Status.DELIVERED, 2),
    ("DEMO-2002", "buyer_ua", "Summer linen dress", 1, Order.Status.DELIVERED, 4),
]


@dataclass
class Login:
    username: str
    role: str


class Command(BaseCommand):
    help = "Load the demo data (safe to run again: nothing is duplicated) and print the logins."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        stores = {
            "dragon": Store.objects.get_or_create(name="Golden Dragon Trading", defaults={"country": "CN"})[0],
            "bosphorus": Store.objects.get_or_create(name="Bosphorus Textiles", defaults={"country": "TR"})[0],
        }
        warehouses = {
            "moscow": self._warehouse(
                "Golden Dragon return centre", stores["dragon"], "RU", "Moscow",
                "12 Warehouse Lane, building 3, Moscow 109316", accepts_returns=True, stocks_goods=True,
            ),
            "podolsk": self._warehouse(
                "Marketplace MALL warehouse", None, "RU", "Podolsk",
                "1 Logistics Park, Podolsk, Moscow region 142100", accepts_returns=False, stocks_goods=True,
            ),
            "shenzhen": self._warehouse(
                "Golden Dragon Shenzhen", stores["dragon"], "CN", "Shenzhen",
                "88 Export Road, Bao'an, Shenzhen", accepts_returns=False, stocks_goods=True,
            ),
            "istanbul": self._warehouse(
                "Bosphorus depot", stores["bosphorus"], "TR", "Istanbul",
                "5 Tekstilkent, Esenler, Istanbul", accepts_returns=False, stocks_goods=True,
            ),
        }

        categories: dict[str, Category] = {}
        for slug, name, parent, kind, sealed in CATEGORIES:
            categories[slug], _ = Category.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "parent": categories.get(parent) if parent else None,
                    "kind": kind,
                    "not_returnable_once_opened": sealed,
                },
            )

        products: dict[str, Product] = {}
        for title, store, category, price, local_return, stock in PRODUCTS:
            products[title], _ = Product.objects.get_or_create(
                store=stores[store],
                title=title,
                defaults={
                    "category": categories[category],
                    "price": Decimal(price),
                    "currency": "RUB",
                    "local_return": local_return,
                    "description": f"{title}. Demo product sold by {stores[store].name}.",
                },
            )
            origin = "shenzhen" if store == "dragon" else "istanbul"
            for key, units in {origin: 100, **stock}.items():
                Stock.objects.get_or_create(
                    product=products[title], warehouse=warehouses[key], defaults={"quantity": units}
                )

        users = {
            "buyer_ru": self._user("buyer_ru", "Anna", "Petrova", country="RU"),
            "buyer_ua": self._user("buyer_ua", "Oksana", "Kovalenko", country="UA"),
            "seller": self._user("seller", "Li", "Wei", store=stores["dragon"]),
            "seller_tr": self._user("seller_tr", "Emre", "Yilmaz", store=stores["bosphorus"]),
            "staff": self._user("staff", "Sam", "Support", staff=True),
        }

        now = timezone.now()
        orders = {
            number: self._order(number, users[buyer], products[title], quantity, status, now - timedelta(days=days_ago))
            for number, buyer, title, quantity, status, days_ago in ORDERS
        }
        # One local return already under way, so the dispute pages have something to show.
        watch_line = orders["DEMO-1002"].lines.get()
        if not watch_line.disputes.exists():
            dispute_open(
                buyer=users["buyer_ru"], order_line=watch_line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                amount=watch_line.line_total, reason=Dispute.Reason.NOT_AS_EXPECTED,
                description="The dial is much larger than it looked in the photos.",
            )

        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in at /accounts/login/ with:"))
        for login in (
            Login("buyer_ru", "buyer in Russia (local return available)"),
            Login("buyer_ua", "buyer in Ukraine (local return not available)"),
            Login("seller", "seller, Golden Dragon Trading (return warehouse in Moscow)"),
            Login("seller_tr", "seller, Bosphorus Textiles (no return warehouse)"),
            Login("staff", "marketplace staff (/admin/)"),
        ):
            self.stdout.write(f"  {login.username:<10} / {DEMO_PASSWORD:<13} {login.role}")

    def _warehouse(self, name, store, country, city, address, **flags) -> Warehouse:
        return Warehouse.objects.get_or_create(
            name=name, store=store, defaults={"country": country, "city": city, "address": address, **flags}
        )[0]

    def _user(self, username, first_name, last_name, *, country="", store=None, staff=False) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
                "country": country,
                "store": store,
                "is_staff": staff,
                "is_superuser": staff,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user_email_mark_verified(user=user)  # the demo's addresses are taken as verified
        return user

    def _order(self, number, buyer, product, quantity, status, last_step_at) -> Order:
        if existing := Order.objects.filter(number=number).first():
            return existing
        paid_at = last_step_at - timedelta(days={"paid": 0, "shipped": 3, "delivered": 10}[status])
        shipped_at = paid_at + timedelta(days=1) if status != Order.Status.PAID else None
        delivered_at = last_step_at if status == Order.Status.DELIVERED else None
        line_total = OrderLine.total_for(product.price, quantity, currency=product.currency)
        order = Order.objects.create(
            number=number, buyer=buyer, store=product.store, status=status, currency=product.currency,
            total=line_total, delivery_country=buyer.country, payment_reference=f"SIMULATED-{number}",
            tracking_number=f"RR{number[-4:]}CN" if shipped_at else "", created_at=paid_at, paid_at=paid_at,
            shipped_at=shipped_at, delivered_at=delivered_at,
        )
        OrderLine.objects.create(
            order=order, product=product, title=product.title, unit_price=product.price,
            quantity=quantity, line_total=line_total,
        )
        steps = [("", Order.Status.PAID, paid_at, buyer)]
        if shipped_at:
            seller = product.store.members.first()
            steps.append((Order.Status.PAID, Order.Status.SHIPPED, shipped_at, seller))
        if delivered_at:
            steps.append((Order.Status.SHIPPED, Order.Status.DELIVERED, delivered_at, buyer))
        OrderEvent.objects.bulk_create(
            OrderEvent(order=order, actor=actor, from_status=src, to_status=dst, created_at=at, details={"demo": True})
            for src, dst, at, actor in steps
        )
        return order
