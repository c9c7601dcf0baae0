from django.apps import AppConfig


class LakeConfig(AppConfig):
    name = "safetynet.lake"
    verbose_name = "Data lake"

    def ready(self) -> None:
        # the audit trail names feeds in words where a detail mentions one
        from safetynet.access import audit_labels
        from safetynet.lake.sources import FEED_TITLES

        audit_labels.WORDS.update(FEED_TITLES)
        from safetynet.access.permissions import Cap
        from safetynet.jobs.services import register
        from safetynet.lake import jobs

        register("lake.ingest_push", "部门数据入湖", jobs.ingest_push, Cap.READ_BATCHES)
        register("lake.freshness", "部门数据时效检查", jobs.freshness_check, Cap.READ_BATCHES)
