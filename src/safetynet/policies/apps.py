from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "safetynet.policies"
    verbose_name = "Policies"
