from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "safetynet.policies"
    verbose_name = "Policies"

    def ready(self) -> None:
        # the audit trail names the default catalog's policies in words where a detail lists them
        from safetynet.access import audit_labels
        from safetynet.policies.catalog import DEFAULT_POLICIES

        audit_labels.WORDS.update({p["code"]: p["title"] for p in DEFAULT_POLICIES})
