from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "safetynet.cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.cases.services import land_lead

        events.lead_matched.connect(land_lead, dispatch_uid="cases_land_lead")
        from safetynet.cases import jobs
        from safetynet.jobs.services import register

        register("cases.escalate", "逾期个案上提", jobs.escalate)
        # the audit trail records case steps as case_<step>: it shows them by the steps' own labels
        from safetynet.access import audit_labels
        from safetynet.cases.actions import ACTIONS

        audit_labels.ACTIONS.update({f"case_{name}": f"个案：{a.label}" for name, a in ACTIONS.items()})
