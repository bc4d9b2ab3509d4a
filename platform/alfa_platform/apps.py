from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks


class AlfaPlatformConfig(AppConfig):
    name = "alfa_platform"
    verbose_name = "ALFA platform"

    def ready(self) -> None:
        checks.register(check_single_sign_on, checks.Tags.security)


def check_single_sign_on(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: a half-configured single sign-on stops `manage.py check` and the server's start."""
    from .oidc import configuration_errors

    return [checks.Error(message, id="alfa_platform.E001") for message in configuration_errors()]
