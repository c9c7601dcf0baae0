from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "safetynet.cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.cases.services import land_lead

        events.lead_matched.connect(land_lead, dispatch_uid="cases_land_lead")
