from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "safetynet.screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.screening.services import record_verification

        events.case_event.connect(record_verification, dispatch_uid="screening_verification")
