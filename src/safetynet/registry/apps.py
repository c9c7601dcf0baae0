from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "safetynet.registry"
    verbose_name = "Registry"
