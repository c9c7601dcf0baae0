from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "safetynet.leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.access import audit_labels
        from safetynet.leads.models import Channel
        from safetynet.leads.services import follow_case
        from safetynet.screening.signals import run_finished

        run_finished.connect(_warnings_to_leads, dispatch_uid="leads_from_warnings")
        events.case_event.connect(follow_case, dispatch_uid="leads_follow_case")
        audit_labels.WORDS.update(Channel.choices)  # "channel=hotline" in a trail reads 渠道=热线


def _warnings_to_leads(run, **_: object) -> None:  # type: ignore[no-untyped-def]
    """A live screening run's new warnings are leads for their households' villages."""
    from safetynet.leads.services import leads_from_warnings

    leads_from_warnings(run.pk)
