"""People and roles (/account/people/): leads grant annotator and reviewer, admins every role, nobody else any."""

import pytest
from django.contrib.auth.models import User

from alfa_platform.models import ExternalIdentity
from alfa_platform.roles import Role, roles_of


def current_roles(user):
    return roles_of(User.objects.get(pk=user.pk))  # a fresh row: roles_of caches on the object


def change(client, user, role, action):
    return client.post(f"/account/people/{user.pk}/roles/", {"role": role, "action": action})


def test_allows_lead_to_grant_a_stranger_the_annotator_role(client_for, lead, outsider):
    ExternalIdentity.objects.create(user=outsider, issuer="https://login.hospital.example", subject="42")
    client = client_for(lead)
    page = client.get("/account/people/").content.decode().split("<main>")[1]
    assert "waiting for access" in page and page.index("oscar_outsider") < page.index("lena_lead")  # strangers first
    assert change(client, outsider, Role.ANNOTATOR, "grant")["Location"] == "/account/people/"
    assert current_roles(outsider) == {Role.ANNOTATOR}
    change(client, outsider, Role.ANNOTATOR, "revoke")
    assert current_roles(outsider) == set()


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_denies_lead_to_grant_lead_or_admin(client_for, lead, outsider, role):
    assert change(client_for(lead), outsider, role, "grant").status_code == 403
    assert current_roles(outsider) == set()


def test_denies_lead_to_change_an_admins_roles(client_for, lead, admin_user):
    assert change(client_for(lead), admin_user, Role.REVIEWER, "grant").status_code == 403


def test_allows_admin_to_grant_and_revoke_lead(client_for, admin_user, annotator):
    client = client_for(admin_user)
    change(client, annotator, Role.LEAD, "grant")
    assert current_roles(annotator) == {Role.ANNOTATOR, Role.LEAD}
    assert not User.objects.filter(pk=annotator.pk, is_staff=True).exists()
    change(client, annotator, Role.LEAD, "revoke")
    assert current_roles(annotator) == {Role.ANNOTATOR}


@pytest.mark.parametrize("persona", ["annotator", "reviewer", "outsider"])
def test_denies_non_leads_the_page_and_the_change(client_for, request, persona, outsider):
    client = client_for(request.getfixturevalue(persona))
    assert client.get("/account/people/").status_code == 403
    assert change(client, outsider, Role.ANNOTATOR, "grant").status_code == 403
    assert current_roles(outsider) == set()


def test_it_answers_400_or_404_to_bad_input(client_for, lead, outsider):
    client = client_for(lead)
    assert change(client, outsider, "superuser", "grant").status_code == 400
    assert change(client, outsider, Role.ANNOTATOR, "delete").status_code == 400
    assert client.post("/account/people/999999/roles/", {"role": "annotator", "action": "grant"}).status_code == 404
    assert client.get(f"/account/people/{outsider.pk}/roles/").status_code == 405


def test_the_list_reads_in_a_fixed_number_of_queries(client_for, lead, make_user, django_assert_max_num_queries):
    for index in range(20):
        user = make_user(f"sso_user_{index}", None)
        ExternalIdentity.objects.create(user=user, issuer="https://idp", subject=str(index))
    client = client_for(lead)
    with django_assert_max_num_queries(12):
        assert client.get("/account/people/").status_code == 200
