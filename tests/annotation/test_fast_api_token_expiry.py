"""The annotation hot path's own token check (annotation.fast_api, PostgreSQL) refuses expired tokens too."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the lean views serve PostgreSQL only"),
]


def test_an_expired_token_gets_no_assignment_from_the_fast_path(make_campaign, annotator):
    campaign = make_campaign(n=3, annotators=[annotator])
    token = Token.objects.create(user=annotator)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/annotation/campaigns/{campaign.pk}/next/"
    assert client.post(url, data="{}", content_type="application/json").status_code == 200
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - timedelta(days=settings.ALFA_API_TOKEN_TTL_DAYS, seconds=1))
    refused = client.post(url, data=json.dumps({}), content_type="application/json")
    assert refused.status_code in (401, 403) and "expired" in refused.json()["detail"]
