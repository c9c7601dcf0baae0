"""Screening's background jobs: a live run (started from the page or by the nightly schedule) and a
backtest. Both are idempotent on their job: a retry after the worker died mid-way finds the run the job
already finished instead of running again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse

from safetynet.jobs.services import Refused, Work
from safetynet.screening import services
from safetynet.screening.models import RulePack, Run
from safetynet.screening.signals import run_finished


def _progress(work: Work):  # type: ignore[no-untyped-def]
    """The plan's steps in words on the job's page: the rule being applied, else the features computed."""
    titles = services.rule_titles()

    def told(step: str, done: int, total: int) -> None:
        if step.startswith("rule:"):
            words = f"应用规则：{titles.get(step[5:], step[5:])}"
        elif step == "store":
            words = "保存预警，生成线索"
        else:
            words = "计算家庭和人员特征"
        work.progress(done, total, words)

    return told


def live_run(work: Work) -> dict[str, Any]:
    as_of = work.params.get("as_of")
    finished = Run.objects.filter(job_id=work.job.pk, status=Run.Status.DONE).first()
    if finished is None:
        try:
            finished = services.screen(
                as_of=dt.date.fromisoformat(as_of) if as_of else None,
                engine=work.params.get("engine"),
                started_by=work.job.started_by,
                job_id=work.job.pk,
                progress=_progress(work),
            )
        except services.ScreeningError as error:
            raise Refused(str(error)) from None
    else:
        # The run was stored but its process died before its warnings all became leads: each warning
        # becomes a lead once, so sending the signal again makes only the missing ones.
        run_finished.send(sender=Run, run=finished)
    return {
        "url": reverse("screening:run", args=[finished.pk]),
        "summary": f"第 {finished.pk} 次比对：预警 {finished.total_hits} 条，其中新增 {finished.total_new} 条",
    }


def backtest(work: Work) -> dict[str, Any]:
    base = Run.objects.filter(pk=work.params["base"], dry_run=False).first()
    pack = RulePack.objects.filter(version=work.params["version"]).first()
    if base is None or pack is None:
        raise Refused("所选的规则包版本或比较基准已不存在")
    candidate = Run.objects.filter(job_id=work.job.pk, status=Run.Status.DONE).first()
    if candidate is None:
        try:
            candidate = services.screen(
                dry_run=True,
                pack=pack,
                as_of=base.as_of,
                engine=base.engine,
                started_by=work.job.started_by,
                job_id=work.job.pk,
                progress=_progress(work),
            )
        except services.ScreeningError as error:
            raise Refused(str(error)) from None
    return {
        "url": f"{reverse('screening:compare')}?base={base.pk}&candidate={candidate.pk}",
        "summary": f"第 {pack.version} 版回测完成，与第 {base.pk} 次比对对照",
    }
