from django.apps import AppConfig


class LakeConfig(AppConfig):
    name = "safetynet.lake"
    verbose_name = "Data lake"
