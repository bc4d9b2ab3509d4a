from django.apps import AppConfig


class AlfaPlatformConfig(AppConfig):
    name = "alfa_platform"
    verbose_name = "ALFA platform"
