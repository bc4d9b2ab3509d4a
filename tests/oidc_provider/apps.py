from django.apps import AppConfig


class TestProviderConfig(AppConfig):
    name = "tests.oidc_provider"
    label = "test_oidc_provider"  # "oidc_provider" is django-oidc-provider's own label
