from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "safetynet.screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.screening.services import record_verification

        events.case_event.connect(record_verification, dispatch_uid="screening_verification")
        from safetynet.access.permissions import Cap
        from safetynet.jobs.services import register
        from safetynet.screening import jobs

        register("screening.run", "数据比对", jobs.live_run, Cap.RUN_SCREENING)
        register("screening.backtest", "规则回测", jobs.backtest, Cap.TUNE_RULES)
        # the audit trail names the default pack's rules and the levels in words where a detail has them
        from safetynet.access import audit_labels
        from safetynet.screening.packs import LEVEL_LABELS, default_pack_text, parse_pack

        audit_labels.WORDS.update(LEVEL_LABELS)
        audit_labels.WORDS.update({r.id: r.title for r in parse_pack(default_pack_text()).rules})
