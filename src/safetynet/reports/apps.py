from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "safetynet.reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from safetynet import events
        from safetynet.reports import tallies

        # Connected after the cases app's own subscribers (this app comes last in INSTALLED_APPS), so a
        # matched lead has landed in its case before the case's figures are counted again.
        events.case_event.connect(tallies.on_case_event, dispatch_uid="reports_case_event")
        events.lead_matched.connect(tallies.on_lead_matched, dispatch_uid="reports_lead_matched")
        from safetynet.registry.signals import registry_imported
        from safetynet.screening.signals import run_finished

        # after the leads app's subscriber has turned the run's warnings into leads (connected before)
        run_finished.connect(tallies.on_run_finished, dispatch_uid="reports_run_finished")

        registry_imported.connect(tallies.on_registry_imported, dispatch_uid="reports_registry_imported")
        from safetynet.jobs.services import register
        from safetynet.reports import jobs

        register("reports.monthly", "月度统计报表和简报", jobs.monthly_reports)
        from safetynet.access import audit_labels

        audit_labels.OBJECTS["report"] = "分析研判统计"  # the auditor reads who looked at which region
        audit_labels.PURPOSES.update(
            {
                "leaders' analysis": "分析研判",
                "statistics workbook": "下载统计报表",
                "analysis brief": "下载分析简报",
                "monthly report": "下载月度报表",
            }
        )
