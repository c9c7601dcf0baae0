from django.apps import AppConfig


class LakeConfig(AppConfig):
    name = "safetynet.lake"
    verbose_name = "Data lake"

    def ready(self) -> None:
        # the audit trail names feeds in words where a detail mentions one
        from safetynet.access import audit_labels
        from safetynet.lake.sources import FEED_TITLES

        audit_labels.WORDS.update(FEED_TITLES)
