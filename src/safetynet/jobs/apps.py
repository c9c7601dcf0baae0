from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "safetynet.jobs"
    verbose_name = "Jobs"
