from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "safetynet.access"
    verbose_name = "Access"
