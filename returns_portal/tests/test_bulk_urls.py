import pytest
from django.urls import reverse

from returns_portal.bulk_urls import url_by_pk


@pytest.mark.parametrize("viewname", ["catalog:product_detail", "disputes:dispute_detail", "disputes:dispute_open",
                                      "orders:order_detail"])
def test_url_by_pk_is_what_reverse_gives(viewname):
    url = url_by_pk(viewname)

    assert [url(pk) for pk in (1, 7, 42, 10**9)] == [reverse(viewname, args=[pk]) for pk in (1, 7, 42, 10**9)]


def test_the_arguments_before_the_pk_stay_as_given():
    url = url_by_pk("disputes:attachment", 31)

    assert [url(pk) for pk in (1, 31, 10**9)] == [reverse("disputes:attachment", args=[31, pk]) for pk in (1, 31, 10**9)]
