"""The Content-Security-Policy in a real browser: the pages the journeys do not reach that run the
most script (the API docs, the staff's charts, Django's admin widgets, the printable slip) load
and work with the policy on and no violation. The harness (support.Portal) fails every browser
test on a violation; the last test shows it sees one."""
import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_their_operations_under_the_policy(portal):
    page = portal.visitor()
    assert page.goto(reverse("api:docs")).status == 200  # Swagger UI's own page: English, no lang to check
    operation = page.locator(".swagger-ui .opblock").first
    operation.wait_for()
    operation.locator(".opblock-summary").click()
    page.locator(".swagger-ui .opblock-body").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 10
    portal.shot(page, "api-docs")
    assert portal.csp_violations == []
    portal.assert_no_problems()


def test_the_admin_pages_and_widgets_run_under_the_policy(portal):
    staff = portal.visitor("staff", admin=True)
    for name in ("staff_dashboard", "staff_rules", "staff_api_tokens", "admin:disputes_dispute_changelist",
                 "admin:catalog_category_changelist", "admin:catalog_product_add"):
        portal.goto(staff, reverse(name))
        if name == "staff_dashboard":
            portal.shot(staff, "dashboard")
    # A change form with Django's date and time shortcuts and the two-list selector.
    portal.goto(staff, reverse("admin:accounts_user_change", args=[User.objects.get(username="buyer_ru").pk]))
    staff.locator("#id_user_permissions_add_all_link, .selector-chooseall").first.wait_for()
    staff.locator(".datetimeshortcuts a").first.click()  # "Today"
    staff.locator("#id_user_permissions_filter_input, .selector-filter input").first.fill("dispute")
    portal.shot(staff, "user-change")
    assert portal.csp_violations == []
    portal.assert_no_problems()


def test_the_catalog_tree_and_the_printable_slip_need_no_inline_style_or_script(portal):
    page = portal.visitor()
    portal.goto(page, reverse("catalog:product_list"))
    depths = page.locator(".tree li[class^=tree__depth-]")
    assert depths.count() > 0
    indents = {float(value.removesuffix("px")) for value in depths.evaluate_all(
        "items => items.map(item => getComputedStyle(item).paddingLeft)")}
    assert len(indents) >= 2, indents  # the levels are told apart by the style sheet alone
    assert portal.csp_violations == []
    portal.assert_no_problems()


def test_the_harness_sees_a_violation(portal):
    page = portal.visitor()
    portal.goto(page, reverse("account_login"))
    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.body.append(script);
      document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
    }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected === undefined")  # the inline script did not run
    directives = " ".join(portal.csp_violations)
    assert "script-src-elem blocked 'inline'" in directives, portal.csp_violations
    assert "style-src-attr blocked 'inline'" in directives, portal.csp_violations
    with pytest.raises(AssertionError):
        portal.assert_no_problems()
    portal.csp_violations.clear()  # made on purpose: not counted in the run's summary
