"""The Content-Security-Policy in a real browser (issue 13): the pages' own scripts run, an injected one does not.

Every browser test also fails on any policy violation (the `page` fixture in tests/conftest.py).
"""

import pytest

from tests.annotation.factories import create_case

pytestmark = pytest.mark.browser


def test_the_policy_blocks_injected_inline_script_and_handlers(page, live_server, login, lead, transactional_db):
    login(page, lead)
    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = 1';
        document.body.append(script);
        document.body.insertAdjacentHTML('beforeend', '<img src="data:," onload="window.handler = 1">');
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => [window.injected, window.handler]") == [None, None]
    assert page.csp_violations, "the browser reported no violation: is the policy sent?"
    page.csp_violations.clear()  # expected here; any other test fails on one


def test_the_pages_own_scripts_run_under_the_policy(page, live_server, login, reviewer, transactional_db):
    create_case()
    login(page, reviewer)
    page.goto(f"{live_server.url}/annotation/gold/")
    with page.expect_navigation():  # the status filter submits itself (site.js, no inline handler)
        page.select_option("select[name=status]", index=1)
    assert "status=" in page.url
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)  # Swagger UI starts from a script file
    assert not page.csp_violations
    page.goto(f"{live_server.url}/api/redoc/")  # Redoc's bundle loads a logo from the internet: not served
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)
    assert page.url.endswith("/api/docs/") and not page.csp_violations
