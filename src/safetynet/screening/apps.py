from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "safetynet.screening"
    verbose_name = "Screening"
