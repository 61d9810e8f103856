"""The public catalog through HTTP: filters, the MALL, the country switch, the product page."""
import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category, Product, Stock, Store, Warehouse
from catalog.selectors import SESSION_COUNTRY_KEY

from .factories import CategoryFactory, ProductFactory, StockFactory, StoreFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

CATALOG_URL = reverse("catalog:product_list")
COUNTRY_URL = reverse("catalog:country_set")
UKRAINE_MESSAGE = "Local return is not available in Ukraine: there is no return warehouse in your country."
SELLER_HAS_NONE_IN_RUSSIA = (
    "This seller has no return warehouse in Russia, so local return is not available for this product."
)


def shown(response) -> set[Product]:
    assert response.status_code == 200
    return set(response.context["page"].object_list)


def detail_url(product: Product) -> str:
    return reverse("catalog:product_detail", args=[product.pk])


def badged(response) -> set[str]:
    """Titles of the listed goods whose card carries the Local return badge, read from the HTML."""
    assert response.status_code == 200
    cards = response.content.decode().split('<li class="card">')[1:]
    return {
        unescape(re.search(r'<span class="card__title">(.*?)</span>', card).group(1))
        for card in cards
        if 'class="badge badge--ok"' in card
    }


@pytest.fixture
def ru_buyer():
    return BuyerFactory(country="RU")


@pytest.fixture
def ua_buyer():
    return BuyerFactory(country="UA")


@pytest.fixture
def returns_in_russia():
    """The marketplace takes returns in Russia (the default country), for every store's goods."""
    return WarehouseFactory(country="RU", store=None, accepts_returns=True)


# --- the "Local return" tick filter ---------------------------------------------------


def test_with_a_marketplace_return_warehouse_the_filter_shows_exactly_the_opted_in_products(
    client, returns_in_russia
):
    opted_in = ProductFactory.create_batch(3, local_return=True)
    not_opted_in = ProductFactory.create_batch(2, local_return=False)

    response = client.get(CATALOG_URL, {"local_return": "on"})

    assert shown(response) == set(opted_in)
    assert shown(response).isdisjoint(not_opted_in)
    assert response.context["page"].paginator.count == 3


def test_an_invalid_search_does_not_drop_the_local_return_tick(client, returns_in_russia):
    opted_in = ProductFactory(local_return=True)
    ProductFactory(local_return=False)

    response = client.get(CATALOG_URL, {"local_return": "on", "q": "x" * 101})

    assert shown(response) == {opted_in}


def test_without_the_tick_every_active_product_is_shown(client):
    products = [ProductFactory(local_return=True), ProductFactory(local_return=False)]

    response = client.get(CATALOG_URL)

    assert shown(response) == set(products)


def test_inactive_products_and_products_of_inactive_stores_are_never_shown(client, returns_in_russia):
    visible = ProductFactory(local_return=True)
    ProductFactory(local_return=True, is_active=False)
    ProductFactory(local_return=True, store=StoreFactory(is_active=False))

    assert shown(client.get(CATALOG_URL)) == {visible}
    assert shown(client.get(CATALOG_URL, {"local_return": "on"})) == {visible}


# --- the filter and the badge follow the viewer's country ------------------------------


@pytest.fixture
def goods_by_return_point():
    """Goods whose stores take returns in different places (none through the marketplace)."""
    own_ru = StoreFactory(name="Own return warehouse in Russia")
    WarehouseFactory(store=own_ru, country="RU")
    own_kz = StoreFactory(name="Own return warehouse in Kazakhstan")
    WarehouseFactory(store=own_kz, country="KZ", city="Almaty")
    closed_ru = StoreFactory(name="Closed return warehouse in Russia")
    WarehouseFactory(store=closed_ru, country="RU", is_active=False)
    shop_ru = StoreFactory(name="Russian warehouse that takes no returns")
    WarehouseFactory(store=shop_ru, country="RU", accepts_returns=False, stocks_goods=True)
    no_warehouse = StoreFactory(name="No warehouse")
    not_locally = CategoryFactory(name="Not returnable locally", local_return_allowed=False)
    goods = {
        "own_ru": ProductFactory(store=own_ru, local_return=True),
        "own_ru_opted_out": ProductFactory(store=own_ru, local_return=False),
        "own_ru_category_not_locally": ProductFactory(store=own_ru, local_return=True, category=not_locally),
        "own_kz": ProductFactory(store=own_kz, local_return=True),
        "closed_ru": ProductFactory(store=closed_ru, local_return=True),
        "shop_ru": ProductFactory(store=shop_ru, local_return=True),
        "no_warehouse": ProductFactory(store=no_warehouse, local_return=True),
    }
    for key, product in goods.items():
        Product.objects.filter(pk=product.pk).update(title=key)
    return goods


@pytest.mark.parametrize(
    ("country", "marketplace_in_russia", "returnable"),
    [
        ("RU", False, {"own_ru"}),
        ("KZ", False, {"own_kz"}),
        ("UA", False, set()),
        # The marketplace's warehouse takes every store's returns in Russia, still only for opted-in
        # goods of categories that allow it, and does nothing for Kazakhstan or Ukraine.
        ("RU", True, {"own_ru", "own_kz", "closed_ru", "shop_ru", "no_warehouse"}),
        ("KZ", True, {"own_kz"}),
        ("UA", True, set()),
    ],
)
def test_filter_and_badge_mark_exactly_the_goods_returnable_in_the_buyers_country(
    client, goods_by_return_point, country, marketplace_in_russia, returnable
):
    if marketplace_in_russia:
        WarehouseFactory(store=None, country="RU", city="Kazan")
    client.force_login(BuyerFactory(country=country))

    everything = client.get(CATALOG_URL)
    filtered = client.get(CATALOG_URL, {"local_return": "on"})

    assert {p.title for p in shown(everything)} == set(goods_by_return_point)
    assert badged(everything) == returnable
    assert {p.title for p in shown(filtered)} == returnable
    assert badged(filtered) == returnable
    assert filtered.context["page"].paginator.count == len(returnable)


def test_the_filter_says_whose_country_it_speaks_of(client, returns_in_russia):
    client.post(COUNTRY_URL, {"country": "KZ"})

    html = client.get(CATALOG_URL, {"local_return": "on"}).content.decode()

    assert (
        "Only goods you can return locally in Kazakhstan: you send them back to a return warehouse in "
        "Kazakhstan, not abroad." in html
    )
    assert "No goods match these filters." in html


# --- the MALL: goods stocked in the viewer's country ------------------------------


@pytest.fixture
def mall_goods():
    """Goods around the MALL's edges: only ``ru`` and ``ru_and_cn`` are stocked in Russia."""
    ru_shop = WarehouseFactory(country="RU", city="Moscow", stocks_goods=True, accepts_returns=False)
    ru_returns_only = WarehouseFactory(country="RU", city="Kazan", stocks_goods=False, accepts_returns=True)
    ru_closed = WarehouseFactory(country="RU", city="Tver", stocks_goods=True, is_active=False)
    cn_shop = WarehouseFactory(country="CN", city="Shenzhen", stocks_goods=True, accepts_returns=False)
    ua_shop = WarehouseFactory(country="UA", city="Kyiv", stocks_goods=True, accepts_returns=False)

    goods = {
        "ru": ProductFactory(title="Stocked in Russia"),
        "ru_and_cn": ProductFactory(title="Stocked in Russia and China"),
        "cn_only": ProductFactory(title="Stocked in China only"),
        "ru_sold_out": ProductFactory(title="Sold out in Russia"),
        "ru_not_a_shop": ProductFactory(title="In a Russian returns-only warehouse"),
        "ru_closed": ProductFactory(title="In a closed Russian warehouse"),
        "ru_inactive": ProductFactory(title="Off sale", is_active=False),
        "ru_store_closed": ProductFactory(title="Of a closed store", store=StoreFactory(is_active=False)),
        "ua": ProductFactory(title="Stocked in Ukraine"),
        "nowhere": ProductFactory(title="Not stocked anywhere"),
    }
    StockFactory(product=goods["ru"], warehouse=ru_shop, quantity=5)
    StockFactory(product=goods["ru_and_cn"], warehouse=ru_shop, quantity=1)
    StockFactory(product=goods["ru_and_cn"], warehouse=cn_shop, quantity=7)
    StockFactory(product=goods["cn_only"], warehouse=cn_shop, quantity=9)
    StockFactory(product=goods["ru_sold_out"], warehouse=ru_shop, quantity=0)
    StockFactory(product=goods["ru_sold_out"], warehouse=cn_shop, quantity=3)
    StockFactory(product=goods["ru_not_a_shop"], warehouse=ru_returns_only, quantity=4)
    StockFactory(product=goods["ru_closed"], warehouse=ru_closed, quantity=4)
    StockFactory(product=goods["ru_inactive"], warehouse=ru_shop, quantity=4)
    StockFactory(product=goods["ru_store_closed"], warehouse=ru_shop, quantity=4)
    StockFactory(product=goods["ua"], warehouse=ua_shop, quantity=2)
    return goods


def test_mall_shows_a_russian_buyer_exactly_the_goods_stocked_in_russia(client, ru_buyer, mall_goods):
    client.force_login(ru_buyer)

    response = client.get(CATALOG_URL, {"mall": "on"})

    assert shown(response) == {mall_goods["ru"], mall_goods["ru_and_cn"]}
    # A product stocked in two warehouses is listed once.
    assert response.context["page"].paginator.count == 2
    assert "In warehouses of Russia" in response.content.decode()


def test_mall_shows_a_ukrainian_buyer_none_of_the_russian_goods(client, ua_buyer, mall_goods):
    client.force_login(ua_buyer)

    response = client.get(CATALOG_URL, {"mall": "on"})

    assert shown(response) == {mall_goods["ua"]}
    assert "In warehouses of Ukraine" in response.content.decode()


def test_mall_and_local_return_filters_combine(client, ru_buyer, mall_goods):
    Product.objects.filter(pk=mall_goods["ru"].pk).update(local_return=True)
    Product.objects.filter(pk=mall_goods["cn_only"].pk).update(local_return=True)
    client.force_login(ru_buyer)

    response = client.get(CATALOG_URL, {"mall": "on", "local_return": "on"})

    assert shown(response) == {mall_goods["ru"]}


def test_anonymous_visitor_sees_the_mall_of_the_default_country(client, settings, mall_goods):
    assert settings.DEFAULT_COUNTRY == "RU"

    response = client.get(CATALOG_URL, {"mall": "on"})

    assert shown(response) == {mall_goods["ru"], mall_goods["ru_and_cn"]}
    assert response.context["viewer_country"] == "RU"


def test_anonymous_visitor_switches_country_and_the_mall_follows(client, mall_goods):
    response = client.post(COUNTRY_URL, {"country": "UA", "next": "/?mall=on"})

    assert response.status_code == 302
    assert response["Location"] == "/?mall=on"
    assert client.session[SESSION_COUNTRY_KEY] == "UA"
    followed = client.get(response["Location"])
    assert shown(followed) == {mall_goods["ua"]}
    assert followed.context["viewer_country"] == "UA"

    client.post(COUNTRY_URL, {"country": "CN", "next": "/?mall=on"})

    assert shown(client.get(CATALOG_URL, {"mall": "on"})) == {
        mall_goods["ru_and_cn"],
        mall_goods["cn_only"],
        mall_goods["ru_sold_out"],
    }


def test_a_buyers_country_of_residence_wins_over_the_session_choice(client, ru_buyer, mall_goods):
    client.force_login(ru_buyer)
    client.post(COUNTRY_URL, {"country": "UA"})

    response = client.get(CATALOG_URL, {"mall": "on"})

    assert shown(response) == {mall_goods["ru"], mall_goods["ru_and_cn"]}


def test_invalid_country_gives_a_message_and_changes_nothing(client, mall_goods):
    client.post(COUNTRY_URL, {"country": "UA"})

    response = client.post(COUNTRY_URL, {"country": "XX", "next": "/?mall=on"}, follow=True)

    assert response.redirect_chain == [("/?mall=on", 302)]
    assert [str(m) for m in response.context["messages"]] == ["Please choose a country from the list."]
    assert client.session[SESSION_COUNTRY_KEY] == "UA"
    assert shown(response) == {mall_goods["ua"]}


def test_invalid_country_for_a_new_visitor_leaves_the_default(client):
    response = client.post(COUNTRY_URL, {"country": ""})

    assert response.status_code == 302
    assert response["Location"] == CATALOG_URL
    assert SESSION_COUNTRY_KEY not in client.session
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Please choose a country from the list."]


@pytest.mark.parametrize(
    "unsafe_next",
    ["https://evil.example/", "//evil.example/", "http://evil.example/?mall=on", "javascript:alert(1)"],
)
def test_unsafe_next_is_not_followed(client, unsafe_next):
    response = client.post(COUNTRY_URL, {"country": "UA", "next": unsafe_next})

    assert response.status_code == 302
    assert response["Location"] == CATALOG_URL
    assert client.session[SESSION_COUNTRY_KEY] == "UA"


def test_country_switch_accepts_only_post(client):
    response = client.get(COUNTRY_URL, {"country": "UA"})

    assert response.status_code == 405
    assert SESSION_COUNTRY_KEY not in client.session


# --- search, categories, pages --------------------------------------------------------


def test_search_matches_title_and_description_case_insensitively(client):
    in_title = ProductFactory(title="Red woollen scarf", description="Warm.")
    in_description = ProductFactory(title="Winter set", description="A hat and a matching SCARF.")
    ProductFactory(title="Coffee mug", description="Ceramic.")

    response = client.get(CATALOG_URL, {"q": "Scarf"})

    assert shown(response) == {in_title, in_description}


def test_search_with_no_match_shows_the_empty_state(client):
    ProductFactory(title="Coffee mug")

    response = client.get(CATALOG_URL, {"q": "teapot"})

    assert shown(response) == set()
    assert "No goods match these filters." in response.content.decode()


def test_category_filter_includes_every_descendant(client):
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    shoes = CategoryFactory(name="Shoes", slug="shoes", parent=clothing)
    sneakers = CategoryFactory(name="Sneakers", slug="sneakers", parent=shoes)
    hats = CategoryFactory(name="Hats", slug="hats", parent=clothing)
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    shirt = ProductFactory(category=clothing)
    boot = ProductFactory(category=shoes)
    runner = ProductFactory(category=sneakers)
    cap = ProductFactory(category=hats)
    ProductFactory(category=electronics)

    assert shown(client.get(CATALOG_URL, {"category": "clothing"})) == {shirt, boot, runner, cap}
    assert shown(client.get(CATALOG_URL, {"category": "shoes"})) == {boot, runner}
    assert shown(client.get(CATALOG_URL, {"category": "sneakers"})) == {runner}
    response = client.get(CATALOG_URL, {"category": "shoes"})
    assert response.context["current_category"] == shoes


def test_category_filter_combines_with_local_return(client, returns_in_russia):
    clothing = CategoryFactory(slug="clothing")
    opted_in = ProductFactory(category=clothing, local_return=True)
    ProductFactory(category=clothing, local_return=False)
    ProductFactory(local_return=True)

    assert shown(client.get(CATALOG_URL, {"category": "clothing", "local_return": "on"})) == {opted_in}


@pytest.mark.parametrize("slug", ["no-such-category", "not a slug"])
def test_unknown_category_gives_404(client, slug):
    CategoryFactory(slug="clothing")
    ProductFactory(local_return=False)

    assert client.get(CATALOG_URL, {"category": slug, "local_return": "on"}).status_code == 404


def test_second_page_shows_the_next_products(client, settings):
    settings.CATALOG_PAGE_SIZE = 2
    products = ProductFactory.create_batch(5)
    newest_first = sorted(products, key=lambda p: (p.created_at, p.pk), reverse=True)

    response = client.get(CATALOG_URL, {"page": "2"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == newest_first[2:4]
    assert response.context["page"].number == 2
    assert "Page 2 of 3" in response.content.decode()


@pytest.mark.parametrize(("page", "expected_number"), [("garbage", 1), ("-1", 3), ("999", 3), ("", 1)])
def test_a_garbage_page_number_gives_a_page_not_an_error(client, settings, page, expected_number):
    settings.CATALOG_PAGE_SIZE = 2
    ProductFactory.create_batch(5)

    response = client.get(CATALOG_URL, {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == expected_number


def test_pagination_links_keep_the_filters(client, settings, returns_in_russia):
    settings.CATALOG_PAGE_SIZE = 1
    ProductFactory.create_batch(2, local_return=True)

    response = client.get(CATALOG_URL, {"local_return": "on", "page": "1"})

    assert 'href="?local_return=on&amp;page=2"' in response.content.decode()


# --- the capped count: the catalog never counts past its last numbered page ----------


def heading_count(response) -> str:
    return re.search(r'<span class="muted count">(.*?)</span>', response.content.decode()).group(1)


PAST_THE_CAP = "Only the first 4 products are listed here. Pick a category, tick a filter or search to see the others."


@pytest.fixture
def capped_at_two_pages(settings):
    settings.CATALOG_PAGE_SIZE = 2
    settings.CATALOG_MAX_PAGES = 2  # 4 products counted at most


def test_up_to_the_cap_the_catalog_counts_exactly(client, capped_at_two_pages):
    ProductFactory.create_batch(4)

    response = client.get(CATALOG_URL, {"page": "2"})

    assert heading_count(response) == "4 products"
    assert response.context["page"].paginator.num_pages == 2
    assert response.context["page"].paginator.more is False
    assert "Page 2 of 2" in response.content.decode()
    assert "Only the first" not in response.content.decode()


def test_past_the_cap_the_catalog_says_more_than_and_numbers_only_the_capped_pages(client, capped_at_two_pages):
    products = ProductFactory.create_batch(7)
    newest_first = sorted(products, key=lambda p: (p.created_at, p.pk), reverse=True)

    first = client.get(CATALOG_URL)
    last = client.get(CATALOG_URL, {"page": "2"})

    assert heading_count(first) == "more than 4 products"
    assert "Page 1 of 2" in first.content.decode()
    assert PAST_THE_CAP not in first.content.decode()  # only the last page says it
    assert list(last.context["page"].object_list) == newest_first[2:4]
    assert PAST_THE_CAP in last.content.decode()
    assert "?page=3" not in last.content.decode()  # no link past the cap


@pytest.mark.parametrize("page", ["3", "999"])
def test_a_page_past_the_cap_is_the_last_numbered_page(client, capped_at_two_pages, page):
    products = ProductFactory.create_batch(7)
    newest_first = sorted(products, key=lambda p: (p.created_at, p.pk), reverse=True)

    response = client.get(CATALOG_URL, {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert list(response.context["page"].object_list) == newest_first[2:4]
    assert PAST_THE_CAP in response.content.decode()


def test_the_cap_counts_what_the_filters_keep(client, capped_at_two_pages, returns_in_russia):
    ProductFactory.create_batch(4, local_return=True)
    ProductFactory.create_batch(3, local_return=False)

    assert heading_count(client.get(CATALOG_URL, {"local_return": "on"})) == "4 products"
    assert heading_count(client.get(CATALOG_URL)) == "more than 4 products"
    assert heading_count(client.get(CATALOG_URL, {"q": "no such thing"})) == "0 products"


def test_the_count_reads_at_most_one_row_past_the_cap(client, capped_at_two_pages):
    ProductFactory.create_batch(7)

    with CaptureQueriesContext(connection) as queries:
        client.get(CATALOG_URL)

    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert re.search(r"LIMIT 5\b", counts[0])  # cap + 1: enough to know there are more


def test_past_the_cap_the_russian_page_says_more_than(client, capped_at_two_pages):
    ProductFactory.create_batch(7)

    response = client.get(CATALOG_URL, {"page": "2"}, headers={"accept-language": "ru"})

    assert heading_count(response) == "более 4 товаров"
    assert "Здесь показаны только первые 4 товара." in response.content.decode()


# --- the product page: is local return available to me? ----------------------------


@pytest.fixture
def opted_in_product():
    return ProductFactory(local_return=True, category=CategoryFactory(name="Headphones"))


def test_ukrainian_buyer_is_told_local_return_is_unavailable_and_why(client, ua_buyer, opted_in_product):
    WarehouseFactory(country="RU", store=None, accepts_returns=True)
    client.force_login(ua_buyer)

    response = client.get(detail_url(opted_in_product))

    assert response.status_code == 200
    assert response.context["availability"].passed is False
    assert response.context["availability"].failed_codes == ("return_warehouse_in_country",)
    html = response.content.decode()
    assert "Not available to buyers in Ukraine:" in html
    # Only the reason in Ukraine: that Russia has a return warehouse is no help to this buyer.
    assert f"<li>{UKRAINE_MESSAGE}</li>" in html
    assert response.context["availability"].messages == (UKRAINE_MESSAGE,)
    assert "Available to you" not in html


def test_russian_buyer_sees_local_return_available_with_a_platform_warehouse(client, ru_buyer, opted_in_product):
    WarehouseFactory(country="RU", store=None, accepts_returns=True)
    client.force_login(ru_buyer)

    response = client.get(detail_url(opted_in_product))

    assert response.context["availability"].passed is True
    html = response.content.decode()
    assert "you can send it back to a return warehouse in Russia, not abroad." in html
    assert "Not available to buyers" not in html


def test_russian_buyer_sees_local_return_available_with_the_stores_own_warehouse(client, ru_buyer, opted_in_product):
    WarehouseFactory(country="RU", store=opted_in_product.store, accepts_returns=True)
    client.force_login(ru_buyer)

    response = client.get(detail_url(opted_in_product))

    assert response.context["availability"].passed is True


def test_a_warehouse_of_another_store_does_not_count_and_the_reason_is_this_seller(
    client, ru_buyer, opted_in_product
):
    WarehouseFactory(country="RU", store=StoreFactory(), accepts_returns=True)
    client.force_login(ru_buyer)

    response = client.get(detail_url(opted_in_product))

    assert response.context["availability"].failed_codes == ("return_warehouse_in_country",)
    assert response.context["availability"].messages == (SELLER_HAS_NONE_IN_RUSSIA,)
    html = response.content.decode()
    assert f"<li>{SELLER_HAS_NONE_IN_RUSSIA}</li>" in html
    assert "there is no return warehouse in your country" not in html


@pytest.mark.parametrize(
    "warehouse",
    [
        {"is_active": False, "accepts_returns": True},
        {"is_active": True, "accepts_returns": False, "stocks_goods": True},
    ],
    ids=["inactive", "does-not-accept-returns"],
)
def test_warehouses_that_do_not_take_returns_do_not_count(client, ru_buyer, opted_in_product, warehouse):
    WarehouseFactory(country="RU", store=None, **warehouse)
    client.force_login(ru_buyer)

    response = client.get(detail_url(opted_in_product))

    assert response.context["availability"].failed_codes == ("return_warehouse_in_country",)
    assert response.context["availability"].messages == (
        "Local return is not available in Russia: there is no return warehouse in your country.",
    )


def test_product_not_opted_in_says_the_seller_does_not_offer_it(client, ru_buyer):
    WarehouseFactory(country="RU", store=None)
    product = ProductFactory(local_return=False)
    client.force_login(ru_buyer)

    response = client.get(detail_url(product))

    assert response.context["availability"].failed_codes == ("seller_offers_local_return",)
    assert "<li>The seller does not offer local return for this product.</li>" in response.content.decode()


def test_category_without_local_return_says_so(client, ru_buyer):
    WarehouseFactory(country="RU", store=None)
    product = ProductFactory(local_return=True, category=CategoryFactory(name="Cosmetics", local_return_allowed=False))
    client.force_login(ru_buyer)

    response = client.get(detail_url(product))

    assert response.context["availability"].failed_codes == ("category_allows_local_return",)
    assert "<li>Goods in the category “Cosmetics” cannot be returned locally.</li>" in response.content.decode()


def test_every_reason_is_listed_on_the_page(client, ua_buyer):
    product = ProductFactory(local_return=False, category=CategoryFactory(name="Cosmetics", local_return_allowed=False))
    client.force_login(ua_buyer)

    html = client.get(detail_url(product)).content.decode()

    assert "<li>The seller does not offer local return for this product.</li>" in html
    assert "<li>Goods in the category “Cosmetics” cannot be returned locally.</li>" in html
    assert f"<li>{UKRAINE_MESSAGE}</li>" in html


def test_product_page_lists_the_cities_where_it_is_stocked_in_the_viewers_country(client, ru_buyer):
    product = ProductFactory()
    StockFactory(product=product, warehouse__city="Moscow", quantity=3)
    StockFactory(product=product, warehouse__city="Omsk", quantity=0)
    StockFactory(product=product, warehouse__city="Shenzhen", warehouse__country="CN", quantity=3)
    client.force_login(ru_buyer)

    response = client.get(detail_url(product))

    assert [s.warehouse.city for s in response.context["local_stock"]] == ["Moscow"]


@pytest.mark.parametrize("off_sale", [{"is_active": False}, {"store__is_active": False}], ids=["product", "store"])
def test_products_off_sale_give_404(client, off_sale):
    assert client.get(detail_url(ProductFactory(**off_sale))).status_code == 404


def test_unknown_product_gives_404(client):
    assert client.get(reverse("catalog:product_detail", args=[987654])).status_code == 404


def test_buy_now_form_is_shown_to_buyers(client, ru_buyer):
    product = ProductFactory()
    client.force_login(ru_buyer)

    html = client.get(detail_url(product)).content.decode()

    assert f'action="{reverse("orders:buy_now", args=[product.pk])}"' in html
    assert "Buy now" in html


@pytest.mark.parametrize("make_user", [SellerFactory, StaffFactory], ids=["seller", "staff"])
def test_buy_now_form_is_not_shown_to_sellers_or_staff(client, make_user):
    product = ProductFactory()
    client.force_login(make_user())

    html = client.get(detail_url(product)).content.decode()

    assert reverse("orders:buy_now", args=[product.pk]) not in html
    assert "Buy now" not in html
    assert "Log in to buy" not in html


def test_anonymous_visitor_is_asked_to_log_in_instead_of_buying(client):
    product = ProductFactory()

    html = client.get(detail_url(product)).content.decode()

    assert "Buy now" not in html
    assert "Log in to buy" in html


# --- query budgets ------------------------------------------------------------------


def add_catalog(count: int, *, categories: list[Category], stores: list[Store], ru_shop: Warehouse) -> None:
    """``count`` more products across the given categories and stores, half opted in, all stocked in Russia."""
    start = Product.objects.count()
    products = Product.objects.bulk_create(
        Product(
            store=stores[i % len(stores)],
            category=categories[i % len(categories)],
            title=f"Bulk product {i}",
            price=Decimal("10.00") + i,
            currency="RUB",
            local_return=i % 2 == 0,
        )
        for i in range(start, start + count)
    )
    Stock.objects.bulk_create(Stock(product=p, warehouse=ru_shop, quantity=1) for p in products)


def count_queries(client, url: str) -> tuple[int, set[str]]:
    """The queries one GET of the catalog takes, and the titles it badged."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), badged(response)


@pytest.fixture
def catalog_shape():
    """Stores that take returns in Russia themselves, in Kazakhstan, or nowhere; the MALL
    warehouse in Russia stocks goods but takes no returns."""
    parent = CategoryFactory(slug="root")
    categories = [parent, *(CategoryFactory(parent=parent) for _ in range(4))]
    stores = StoreFactory.create_batch(5)
    WarehouseFactory(store=stores[0], country="RU")
    WarehouseFactory(store=stores[1], country="KZ", city="Almaty")
    ru_shop = WarehouseFactory(country="RU", stocks_goods=True, accepts_returns=False)
    return {"categories": categories, "stores": stores, "ru_shop": ru_shop}


def look_as(client, viewer: str, ru_buyer) -> None:
    if viewer == "buyer_ru":
        client.force_login(ru_buyer)
    elif viewer == "visitor_kz":
        client.post(COUNTRY_URL, {"country": "KZ"})


@pytest.mark.parametrize(
    ("viewer", "url", "budget"),
    [
        # Measured: 6 queries for a buyer (session, user, unread notifications, categories, count, page),
        # at 10 and at 200 products.
        ("buyer_ru", "/", 6),
        # Measured: 3 queries anonymously (categories, count, page) -- no session row yet.
        ("anonymous", "/", 3),
        # Measured: 4 queries for a visitor who picked a country (session, categories, count, page).
        ("visitor_kz", "/", 4),
        # Measured: the same with the Local return filter on, alone and with the MALL, at 10 and at 200:
        # the filter and the badge are part of the count and page queries, never one more per product.
        ("buyer_ru", "/?local_return=on", 6),
        ("anonymous", "/?local_return=on", 3),
        ("visitor_kz", "/?local_return=on", 4),
        ("buyer_ru", "/?mall=on&local_return=on", 6),
        ("anonymous", "/?mall=on&local_return=on", 3),
    ],
)
def test_catalog_query_count_stays_flat_as_the_catalog_grows(client, ru_buyer, catalog_shape, viewer, url, budget):
    look_as(client, viewer, ru_buyer)
    add_catalog(10, **catalog_shape)
    small, badged_small = count_queries(client, url)

    add_catalog(190, **catalog_shape)
    large, badged_large = count_queries(client, url)

    assert small == large
    assert large <= budget
    # The badge is really computed on these pages: the store with a return warehouse in the
    # viewer's country has opted-in goods on them (Russia; Kazakhstan for the visitor).
    assert badged_small and badged_large


def product_page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("login", "budget"),
    [
        # Measured: 6 queries for a buyer (session, user, unread notifications, product, who takes returns here,
        # local stock), 1 or 30 warehouses.
        (True, 6),
        # Measured: 3 queries anonymously (product, who takes returns here, local stock), 1 or 30 warehouses.
        (False, 3),
    ],
)
def test_product_page_query_count_stays_flat_with_many_warehouses(client, ru_buyer, login, budget):
    if login:
        client.force_login(ru_buyer)
    product = ProductFactory(local_return=True)

    def add_warehouses(count: int) -> None:
        for _ in range(count):
            warehouse = WarehouseFactory(country="RU", stocks_goods=True, accepts_returns=True)
            Stock.objects.create(product=product, warehouse=warehouse, quantity=2)

    add_warehouses(1)
    small = product_page_queries(client, detail_url(product))

    add_warehouses(29)
    large = product_page_queries(client, detail_url(product))

    assert small == large
    assert large <= budget
