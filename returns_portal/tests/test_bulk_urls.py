import pytest
from django.urls import reverse

from returns_portal.bulk_urls import url_by_pk


@pytest.mark.parametrize("viewname", ["catalog:product_detail", "disputes:dispute_detail", "disputes:dispute_open",
                                      "orders:order_detail"])
def test_url_by_pk_is_what_reverse_gives(viewname):
    url = url_by_pk(viewname)

    assert [url(pk) for pk in (1, 7, 42, 10**9)] == [reverse(viewname, args=[pk]) for pk in (1, 7, 42, 10**9)]
