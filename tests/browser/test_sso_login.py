"""Single sign-on in a real browser: a physician signs in at the hospital's provider, lands with the annotator role
their group maps to, sees their campaigns, labels, and logs out here and at the provider."""

import copy

import pytest
from django.contrib.auth.models import User

from alfa_platform.roles import Role, roles_of
from alfa_platform.settings import provider_origins
from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import Judgment
from tests.annotation.conftest import comparison_row, jsonl
from tests.oidc_provider.flow import PROVIDER_PASSWORD, configure_platform

pytestmark = pytest.mark.browser


@pytest.fixture
def hospital_sso(settings, oidc_provider, live_server, transactional_db):
    configure_platform(settings, oidc_provider, live_server.url,
                       users=[("dr_browser", ("physicians",)), ("sam_browser", ())])
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)  # what settings.py adds when ALFA_OIDC_ISSUER is set
    policy["DIRECTIVES"]["form-action"] += provider_origins(oidc_provider.issuer)
    settings.CONTENT_SECURITY_POLICY = policy
    return oidc_provider


def sign_in_at_provider(page, live_server, provider, username):
    page.goto(f"{live_server.url}/login/")
    page.click("text=Sign in with Test Hospital")
    page.wait_for_selector("#provider-username")  # the provider's own login page, on its own port
    assert page.url.startswith(f"{provider.url}/accounts/login/")
    page.fill("#provider-username", username)
    page.fill("#provider-password", PROVIDER_PASSWORD)
    page.click("#provider-login")
    page.wait_for_url(f"{live_server.url}/")


def test_a_physician_signs_in_with_the_hospital_login_labels_and_logs_out(page, live_server, hospital_sso, lead):
    sign_in_at_provider(page, live_server, hospital_sso, "dr_browser")
    assert "Signed in as dr_browser" in page.inner_text("main")
    physician = User.objects.get(username="dr_browser")
    assert roles_of(physician) == {Role.ANNOTATOR}

    campaign = do_create_campaign(name="Follow-up questions, cardiology", created_by=lead, annotators=[physician],
                                  overlap=1, gold_rate=0.0)
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(2)]))
    do_set_campaign_status(campaign, "active")
    page.click("header nav >> text=Annotation")
    page.wait_for_url(f"{live_server.url}/annotation/")
    assert "Follow-up questions, cardiology" in page.inner_text("main")
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status.ok")
    assert Judgment.objects.get().annotator == physician

    page.click("header >> text=Log out")  # to the provider's end_session endpoint and back to the login page
    page.wait_for_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/annotation/")
    assert page.url.startswith(f"{live_server.url}/login/")  # the session here is over
    page.click("text=Sign in with Test Hospital")
    page.wait_for_selector("#provider-username")  # and the provider asks for the password again


def test_a_stranger_is_told_to_ask_a_lead_for_access(page, live_server, hospital_sso):
    sign_in_at_provider(page, live_server, hospital_sso, "sam_browser")
    assert "ask a lead for access" in page.inner_text("main")
    assert page.locator("header nav a").all_inner_texts() == []
