"""The browser tests' own watchman: a journey passes only if nothing went wrong unseen."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_missing_page_and_a_script_error_are_problems_and_an_expected_refusal_is_not(portal):
    page = portal.visitor()
    page.goto("/products/999999/")
    page.evaluate("() => setTimeout(() => { throw new Error('broken script'); })")
    page.wait_for_timeout(100)
    portal.expect_status("/orders/", 302)  # no effect: only 4xx/5xx are problems
    portal.expect_status("/no-such-page/", 404)
    page.goto("/no-such-page/")

    assert any("HTTP 404 for GET /products/999999/" in problem for problem in portal.problems), portal.problems
    assert any("broken script" in problem for problem in portal.problems), portal.problems
    assert not any("/no-such-page/" in problem for problem in portal.problems), portal.problems
    with pytest.raises(AssertionError):
        portal.assert_no_problems()
