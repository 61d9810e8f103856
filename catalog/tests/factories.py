from decimal import Decimal

import factory

from catalog.models import Category, Product, Stock, Store, Warehouse


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    country = "CN"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    kind = Category.Kind.ELECTRONICS


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A product for tests."
    price = Decimal("1000.00")
    currency = "RUB"
    local_return = False


class WarehouseFactory(factory.django.DjangoModelFactory):
    """A marketplace warehouse in Russia that takes returns, unless told otherwise."""

    class Meta:
        model = Warehouse

    name = factory.Sequence(lambda n: f"Warehouse {n}")
    store = None
    country = "RU"
    city = "Moscow"
    address = "1 Test Street"
    accepts_returns = True
    stocks_goods = False


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory, stocks_goods=True, accepts_returns=False)
    quantity = 10
