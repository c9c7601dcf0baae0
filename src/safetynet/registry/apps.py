from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "safetynet.registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        # the audit trail names programs and decisions in words where a detail has them
        from safetynet.access import audit_labels
        from safetynet.registry.models import AssistanceStatus, Decision, Program

        for choices in (Program, AssistanceStatus, Decision):
            audit_labels.WORDS.update({value: label for value, label in choices.choices if value})  # lazy: shown in the reader's language
