"""The `safetynet` command line: one entry point for imports, the demo county and the web server."""

from __future__ import annotations

import datetime as dt
import gc
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="safetynet: proactive discovery of people in hardship (社会救助主动发现).", no_args_is_help=True
)
registry_app = typer.Typer(help="The civil-affairs registry.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
lake_app = typer.Typer(help="The data lake: department tokens, registry snapshots.", no_args_is_help=True)
token_app = typer.Typer(help="Department API tokens for pushing feeds.", no_args_is_help=True)
warnings_app = typer.Typer(help="Screening warnings: export, compare runs.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
app.add_typer(users_app, name="users")
app.add_typer(lake_app, name="lake")
lake_app.add_typer(token_app, name="token")
app.add_typer(warnings_app, name="warnings")
linkage_app = typer.Typer(
    help="Identity resolution: the index, training, evaluation, hotline feeds.", no_args_is_help=True
)
app.add_typer(linkage_app, name="linkage")
policies_app = typer.Typer(help="The policy catalog for notification (主动告知).", no_args_is_help=True)
app.add_typer(policies_app, name="policies")
cases_app = typer.Typer(help="Cases: deadlines and their escalation.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
audit_app = typer.Typer(help="The audit trail: seal it, verify it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Encryption keys: rotate them.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
reports_app = typer.Typer(help="Leaders' analysis: monthly reports, recounting.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
regions_app = typer.Typer(help="Administrative regions: boundaries for the map.", no_args_is_help=True)
app.add_typer(regions_app, name="regions")
console = Console()
err = Console(stderr=True)

DEMO_PERSONS = 50_000
DEMO_SEED = 20221021
_whole_process = False  # true when the command is the whole process (not a test calling it)


def setup() -> None:
    """Configure Django and bring the database schema up to date: no separate init step is needed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django

    django.setup()
    if _whole_process:
        # Django's, pydantic's and typer's objects live as long as the command: out of the collector's
        # sight they cost nothing in the collections a long import triggers, nor in those at exit (0.2 s).
        gc.freeze()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0, interactive=False)


@registry_app.command("import")
def registry_import(
    directory: Annotated[
        Path, typer.Argument(help="Folder holding regions.csv, households.csv, persons.csv …")
    ],
    report: Annotated[
        Path | None, typer.Option(help="Write every bad row to this CSV (opens in Excel).")
    ] = None,
) -> None:
    """Import registry files, all or nothing; ends with `accepted=N rejected=M batch=ID`."""
    setup()
    from safetynet.registry import services
    from safetynet.registry.importer import write_error_report
    from safetynet.tabular import FileRejected

    try:
        with console.status("导入中…") as status:
            result = services.import_registry(
                directory, imported_by=os.environ.get("USER", "cli"), progress=lambda m: status.update(m)
            )
    except FileRejected as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if result.errors:
        table = Table("文件", "行", "列", "原因", title=f"{result.rejected} 行有错误，本次导入未写入任何数据")
        for e in result.errors[:200]:
            table.add_row(e.file, str(e.line or ""), e.column, e.reason)
        err.print(table)
        if len(result.errors) > 200:
            err.print(f"…… 另有 {len(result.errors) - 200} 条错误，完整清单见 --report 文件")
        if report:
            write_error_report(result.errors, report)
            err.print(f"错误清单已写入 {report}")
    elif not result.already_imported:
        for name, rows in result.counts.items():
            console.print(f"  {name}: {rows}")
    print(result.summary_line)
    if result.errors:
        raise typer.Exit(1)


@app.command()
def ingest(
    source: Annotated[
        str, typer.Argument(help="medical_claims, disability, deaths, unemployment, pensions, …")
    ],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK), XLSX or JSON Lines.")],
    mapping: Annotated[
        Path | None, typer.Option(help="YAML mapping of the department's headers and values.")
    ] = None,
) -> None:
    """Land a departmental feed in the lake; ends with `accepted=N rejected=M batch=ID`."""
    from safetynet.lake.readers import scan_ahead

    scanned = scan_ahead(file)  # the file's hash and line breaks on the other core while Django starts up
    setup()
    from safetynet.lake import services
    from safetynet.tabular import FileRejected

    try:
        with console.status(f"导入 {source} …"):
            result = services.ingest(
                source, file, mapping, submitted_by=os.environ.get("USER", "cli"), scanned=scanned
            )
    except (FileRejected, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        print("accepted=0 rejected=0 batch=")
        raise typer.Exit(2) from None
    if result.message:
        err.print(f"[red]{result.message}[/red]")
    print(result.summary_line)
    if result.whole_file_rejected:
        raise typer.Exit(1)


@token_app.command("create")
def token_create(
    department: Annotated[str, typer.Option(help="e.g. 县医保局")],
    source: Annotated[list[str], typer.Option(help="A source the department may push; repeat for several.")],
    days: Annotated[int, typer.Option(help="How long it works (1-1095 days).")] = 365,
) -> None:
    """Issue a department's API token (printed once; only its hash is kept)."""
    setup()
    from safetynet.lake import services

    try:
        token = services.create_token(department, source, days=days)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{department} 的推送令牌（只显示这一次，请妥善保存）：")
    print(token)


@token_app.command("list")
def token_list() -> None:
    """Every department token: prefix, department, sources, issued, expires, last used, revoked."""
    setup()
    from safetynet.lake import services

    table = Table("prefix", "department", "sources", "issued", "expires", "last used", "revoked")
    for t in services.tokens():
        when = [
            f"{d:%Y-%m-%d}" if d else "—" for d in (t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
        ]
        table.add_row(t.prefix, t.department, ",".join(t.sources), *when)
    console.print(table)


@token_app.command("revoke")
def token_revoke(prefix: Annotated[str, typer.Argument(help="The token's prefix (sn_PREFIX_…).")]) -> None:
    """Stop a token at once."""
    setup()
    from safetynet.lake import services

    try:
        found = services.revoke_token(prefix)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"revoked {found.prefix} ({found.department})")


@lake_app.command("snapshot")
def lake_snapshot() -> None:
    """Write the registry to the lake as Parquet, consistent as of one transaction."""
    setup()
    from safetynet.lake import services as lake
    from safetynet.registry import services as registry

    snapshot = lake.snapshot_registry(registry.snapshot_tables(), registry.VERSION_SQL)
    console.print(f"snapshot {snapshot.pk}: {snapshot.path}")
    for name, rows in snapshot.rows.items():
        console.print(f"  {name}: {rows}")


def _date_option(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]日期应为 YYYY-MM-DD：{value}[/red]")
        raise typer.Exit(2) from None


@app.command()
def screen(
    as_of: Annotated[str | None, typer.Option(help="Screen as of YYYY-MM-DD (default today).")] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb (default) or spark.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Backtest: keep the hits for comparison, raise no warnings.")
    ] = False,
    pack_version: Annotated[
        int | None, typer.Option(help="Rule pack version (default the active one).")
    ] = None,
) -> None:
    """Run the rule pack over the registry and the lake; new warnings become leads for their village."""
    setup()
    from safetynet.screening import services
    from safetynet.screening.models import RulePack

    pack = None
    if pack_version is not None:
        pack = RulePack.objects.filter(version=pack_version).first()
        if pack is None:
            err.print(f"[red]没有第 {pack_version} 版规则包[/red]")
            raise typer.Exit(2)
    try:
        with console.status("数据比对中…") as status:
            run = services.screen(
                as_of=_date_option(as_of),
                engine=engine,
                dry_run=dry_run,
                pack=pack,
                started_by="cli",
                progress=lambda step, done, total: status.update(f"数据比对中… {done}/{total} {step.removeprefix('rule:')}"),
            )
    except services.ScreeningError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    table = Table("rule", "hits", "new", "suppressed")
    for rule_id, c in run.counts.items():
        table.add_row(rule_id, str(c["hits"]), str(c["new"]), str(c["suppressed"]))
    console.print(table)
    for note in run.notes:
        console.print(f"[yellow]{note}[/yellow]")
    hits = sum(c["hits"] for c in run.counts.values())
    new = sum(c["new"] for c in run.counts.values())
    suppressed = sum(c["suppressed"] for c in run.counts.values())
    print(
        f"run={run.pk} pack=v{run.pack.version} engine={run.engine} as_of={run.as_of} households={run.households} "
        f"warnings={hits} new={new} suppressed={suppressed} seconds={run.seconds}"
    )


@warnings_app.command("export")
def warnings_export(
    file: Annotated[Path, typer.Argument(help="CSV to write (UTF-8 with BOM).")],
    run: Annotated[
        int | None, typer.Option(help="Only this run's warnings (default every live run).")
    ] = None,
) -> None:
    """Write warnings in the contract's CSV: warning_id, run_id, household_id, id_number, rule_id …"""
    setup()
    from safetynet.screening import services

    try:
        rows = services.export_warnings(file, run)
    except services.ScreeningError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{rows} warnings -> {file}")


@warnings_app.command("compare")
def warnings_compare(
    base: Annotated[int, typer.Argument(help="Run to compare against.")],
    candidate: Annotated[int, typer.Argument(help="Run of the pack version under test (often a dry run).")],
) -> None:
    """Per rule: warnings the candidate run adds and drops against the base, and verified precision."""
    setup()
    from safetynet.screening import services
    from safetynet.screening.models import Run

    runs = {r.pk: r for r in Run.objects.filter(pk__in=[base, candidate])}
    if base not in runs or candidate not in runs:
        err.print("[red]比对运行编号不存在[/red]")
        raise typer.Exit(2)
    table = Table("rule", "base", "candidate", "added", "dropped", "precision")
    for row in services.compare_runs(runs[base], runs[candidate]):
        precision = (
            "—"
            if row.precision is None
            else f"{row.precision:.2f} ({row.founded}/{row.founded + row.unfounded})"
        )
        table.add_row(
            row.rule_id, str(row.base), str(row.candidate), str(row.added), str(row.dropped), precision
        )
    console.print(table)


@app.command()
def link(
    in_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with any of record_id, name, id_number, phone, birth_date, age, gender, region_code, address_text."
        ),
    ],
    out_file: Annotated[
        Path,
        typer.Argument(
            help="CSV to write: record_id, id_number, household_id, probability, decision, explanation."
        ),
    ],
    as_of: Annotated[
        str | None, typer.Option(help="Ages count to this date YYYY-MM-DD (default today).")
    ] = None,
    queue_reviews: Annotated[
        bool, typer.Option("--queue-reviews", help="Put uncertain rows in the review queue.")
    ] = False,
) -> None:
    """Resolve records to registry persons: match, review (a person should look) or unknown."""
    setup()
    from safetynet.linkage.batch import link_file
    from safetynet.tabular import FileRejected

    try:
        with console.status("匹配中…"):
            summary = link_file(in_file, out_file, as_of=_date_option(as_of), queue=queue_reviews)
    except FileRejected as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print(summary.line())


@linkage_app.command("index")
def linkage_index() -> None:
    """Rebuild the blocking index from the registry (done after every registry import)."""
    setup()
    from safetynet.linkage.services import rebuild_index

    with console.status("建立匹配索引…"):
        keys = rebuild_index()
    print(f"keys={keys}")


@linkage_app.command("aliases")
def linkage_aliases(
    file: Annotated[Path, typer.Argument(help="CSV with columns alias, region_code (a village's 12-digit code).")],
) -> None:
    """Replace the county's village alias table from a CSV (all or nothing; edit single ones on
    /linkage/settings/)."""
    setup()
    from safetynet.linkage import services
    from safetynet.tabular import FileRejected, RaggedRow, iter_rows, open_csv

    columns = ["alias", "region_code"]
    try:
        source = open_csv(file, required=columns, known=columns)
        read = list(iter_rows(source, columns))
        ragged = [r.line for r in read if isinstance(r, RaggedRow)]
        if ragged:
            raise ValueError(f"第 {ragged[0]} 行的列数与表头不同")
        rows = [(values[0], values[1]) for _, values in read]  # type: ignore[misc]
        count = services.replace_aliases(rows, by=os.environ.get("USER", "cli"))
    except FileRejected as error:
        err.print(f"[red]{error.reason}[/red]")
        raise typer.Exit(2) from None
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"aliases: {count}")


@linkage_app.command("train")
def linkage_train(
    records: Annotated[
        Path | None,
        typer.Argument(
            help="CSV of records to learn from (no labels needed); default: the hotline calls in the lake."
        ),
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Ages count to this date YYYY-MM-DD.")] = None,
) -> None:
    """Estimate the matcher's parameters: u from random registry pairs, m by EM on blocked pairs."""
    setup()
    from safetynet.linkage import services
    from safetynet.linkage.batch import hotline_records
    from safetynet.tabular import FileRejected

    try:
        raws = _csv_records(records) if records else hotline_records()
        with console.status("估计匹配参数…"):
            training = services.train(raws, as_of=_date_option(as_of), created_by="cli")
    except (FileRejected, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print(
        f"model={training.model.pk} records={training.records} pairs={training.pairs} prior={training.model.params['prior']:.4f}"
    )


def _csv_records(path: Path) -> list[dict[str, str]]:
    from safetynet.linkage.services import FIELDS
    from safetynet.tabular import RaggedRow, iter_rows, open_csv

    source = open_csv(path, required=[], known=list(FIELDS))
    columns = list(FIELDS)
    return [
        dict(zip(columns, row[1], strict=True))
        for row in iter_rows(source, columns)
        if not isinstance(row, RaggedRow)
    ]


CURVE_THRESHOLDS = (0.9999, 0.999, 0.99, 0.95, 0.9, 0.8, 0.5, 0.2, 0.05, 0.01, 0.0)


@linkage_app.command("evaluate")
def linkage_evaluate(
    leads: Annotated[Path, typer.Argument(help="Labelled leads (the demo's linkage_leads.csv).")],
    truth: Annotated[Path, typer.Argument(help="Who each lead is (linkage_truth.csv).")],
    as_of: Annotated[str | None, typer.Option(help="Ages count to this date YYYY-MM-DD.")] = None,
) -> None:
    """Precision and recall of automatic matches on a labelled set, and the precision-recall curve."""
    setup()
    from safetynet.linkage.batch import evaluate

    result = evaluate(leads, truth, _date_option(as_of) or dt.date.today())
    table = Table("threshold", "precision", "recall")
    for threshold in CURVE_THRESHOLDS:
        precision, recall = result.at(threshold)
        table.add_row(f"{threshold:g}", f"{precision:.4f}", f"{recall:.4f}")
    console.print(table)
    print(
        f"records={result.records} in_registry={result.in_registry} auto_precision={result.auto_precision:.4f} "
        f"auto_recall={result.auto_recall:.4f} recall_at_precision_0.98={result.best_recall_at(0.98):.4f}"
    )


@linkage_app.command("resolve-hotline")
def linkage_resolve_hotline() -> None:
    """Resolve hotline calls to persons for screening (screening also does this before each run)."""
    setup()
    from safetynet.linkage.batch import resolve_hotline

    print(f"batches={resolve_hotline()}")


@policies_app.command("seed")
def policies_seed(
    county: Annotated[str, typer.Argument(help="6-digit county code, e.g. 371522.")],
) -> None:
    """Add the default catalog (~15 policies across departments) to a county; edited policies stay."""
    setup()
    from safetynet.policies import services

    try:
        added = services.seed_catalog(county, by=os.environ.get("USER", "cli"))
    except services.PolicyRejected as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    print(f"county={county} added={added}")


def ingest_demo_feeds(folder: Path) -> None:
    """Land every departmental feed of a demo county folder, then snapshot the registry."""
    from safetynet.lake import services as lake
    from safetynet.lake.sources import FEEDS
    from safetynet.registry import services as registry

    for source in FEEDS:
        path = folder / f"{source}.csv"
        if path.exists():
            result = lake.ingest(source, path, submitted_by="demo")
            console.print(f"  {source}: {result.summary_line}")
    snapshot = lake.snapshot_registry(registry.snapshot_tables(), registry.VERSION_SQL)
    console.print(f"  registry snapshot {snapshot.pk}: {snapshot.rows}")


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Argument(help="Output folder.")],
    persons: Annotated[int, typer.Option(help="Number of persons.")] = DEMO_PERSONS,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = DEMO_SEED,
    as_of: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD (default today).")] = None,
) -> None:
    """Write a synthetic county in the contract's formats, with injected hardship events and noise."""
    from safetynet.demo.generator import generate

    reference = dt.date.fromisoformat(as_of) if as_of else None
    with Progress(
        TextColumn("生成示例县"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("persons", total=persons)
        summary = generate(
            out, persons=persons, seed=seed, as_of=reference, progress=lambda n: bar.update(task, completed=n)
        )
    for name, rows in summary.files.items():
        console.print(f"  {name}: {rows}")


DEMO_ACCOUNTS = [  # (username, role, level of the region the account is bound to)
    ("village", "coordinator", "village"),
    ("township", "township", "township"),
    ("county", "county", "county"),
    ("admin", "county_admin", "county"),
    ("hotline", "hotline", "county"),
    ("ngo", "social_org", "county"),
    ("medical", "liaison", "county"),  # answers referrals to 医保局 (its organisation, below)
    ("leader", "leader", "city"),
    ("auditor", "auditor", "county"),
]


DEMO_ORGANISATIONS = {"medical": "medical_insurance", "ngo": "县慈善总会"}
DEMO_NAMES = {  # the names letters and pages show for the demo's staff
    "village": "王秀兰", "township": "李建华", "county": "张伟", "admin": "刘洋", "hotline": "陈静",
    "ngo": "赵敏", "medical": "孙磊", "leader": "周强", "auditor": "吴芳",
}  # fmt: skip


def create_demo_users() -> list[tuple[str, str, str, str]]:
    """One account per role, bound to the first region of its level; fresh passwords every run."""
    from safetynet.access.models import User
    from safetynet.access.services import create_user
    from safetynet.regions.models import Region

    logins = []
    for username, role, level in DEMO_ACCOUNTS:
        region = Region.objects.filter(level=level).order_by("code").first()
        if region is None:
            raise typer.BadParameter(f"no {level} region in the registry: import the demo county first")
        password = "demo-" + secrets.token_urlsafe(9)
        existing = User.objects.filter(username=username).first()
        if existing is not None:  # kept, not deleted: its steps and leads refer to it
            existing.role, existing.region, existing.is_active = role, region, True
            existing.organisation = DEMO_ORGANISATIONS.get(username, "")
            existing.first_name = DEMO_NAMES.get(username, "")
            existing.set_password(password)
            existing.save()
        else:
            create_user(
                username,
                password,
                role,
                region.code,
                organisation=DEMO_ORGANISATIONS.get(username, ""),
                first_name=DEMO_NAMES.get(username, ""),
            )
        logins.append((username, password, role, region.name))
    return logins


@users_app.command("create-demo")
def users_create_demo() -> None:
    """Create one demo account per role and print the logins."""
    setup()
    print_logins(create_demo_users())


def print_logins(logins: list[tuple[str, str, str, str]]) -> None:
    table = Table("用户名", "密码", "角色", "辖区", title="示例账号（每次运行重新生成密码）")
    for row in logins:
        table.add_row(*row)
    console.print(table)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="coordinator, township, county, county_admin, hotline, …")],
    region: Annotated[str, typer.Option(help="12-digit code of the region the user works in.")],
    name: Annotated[str, typer.Option(help="The person's name, as letters are signed (e.g. 李建华).")] = "",
) -> None:
    """Create a user; the password is asked for, never passed on the command line."""
    setup()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from safetynet.access.services import create_user

    password = typer.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    try:
        validate_password(password)
        create_user(username, password, role, region, first_name=name.strip())
    except (ValidationError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"created {username}")


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal the audit entries written since the last seal (run daily; verify needs them sealed)."""
    setup()
    from safetynet.access import audit

    sealed = 0
    while (made := audit.seal()) is not None:
        sealed += made.entries
    console.print(f"sealed={sealed}")


@audit_app.command("archive")
def audit_archive(
    directory: Annotated[Path, typer.Argument(help="Where the archive is kept (created; files 0600).")],
) -> None:
    """Seal what is settled, then copy every sealed run not yet archived into DIRECTORY (gzip'd JSON Lines
    and a manifest of seals). Nothing leaves the database: the archive is the copy kept apart (run monthly;
    keep at least six months)."""
    setup()
    from safetynet.access import audit

    while audit.seal() is not None:
        pass
    console.print(f"archived={audit.archive(directory)} folder={directory}")


@audit_app.command("verify")
def audit_verify(
    archive: Annotated[
        Path | None,
        typer.Option(help="Verify this archive folder instead of the database (needs only the key)."),
    ] = None,
) -> None:
    """Seal what is settled, then recompute every seal: exits 1 and lists each broken run when any audit
    entry was edited, deleted, added or reordered. With --archive, the same for an archived copy."""
    setup()
    from safetynet.access import audit
    from safetynet.access.models import AuditSeal

    if archive is not None:
        broken = audit.verify_archive(archive)
        for b in broken:
            err.print(f"[red]条目 {b.after_id + 1}–{b.last_id}：{b.reason}[/red]")
        console.print(f"archive={archive} broken={len(broken)}")
        if broken:
            raise typer.Exit(1)
        return
    while audit.seal() is not None:
        pass
    broken = audit.verify()
    for b in broken:
        err.print(f"[red]条目 {b.after_id + 1}–{b.last_id}：{b.reason}[/red]")
    sealed = AuditSeal.objects.count()
    console.print(f"seals={sealed} broken={len(broken)}")
    if broken:
        raise typer.Exit(1)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt the embedded database, every kept photo and every file of the lake under new keys (run
    yearly, or at once when a key may have leaked), with the service stopped. Safe to run again if
    interrupted; the old photo key stays as file_key.previous until the next rotation."""
    setup()
    from django.conf import settings
    from django.db import connections

    from safetynet import sqlcipher
    from safetynet.access import encryption
    from safetynet.access.services import record_as
    from safetynet.cases.models import Photo
    from safetynet.lake import pseudonyms, storage
    from safetynet.lake.models import Batch
    from safetynet.screening.models import Run

    recover_stale_work()  # what a killed process left "running" is not running
    busy = (
        Batch.objects.filter(status=Batch.Status.RUNNING).count()
        + Run.objects.filter(status=Run.Status.RUNNING).count()
    )
    if busy:  # a batch landing or a run reading the lake meanwhile would be under the other key
        err.print(f"[red]有 {busy} 个数据导入或比对正在进行：请停止服务、等其结束后再轮换密钥[/red]")
        raise typer.Exit(2)
    database = settings.DATABASES["default"]
    rotated = []
    if database["ENGINE"] == "safetynet.sqlcipher":
        connections.close_all()  # the re-key needs the file to itself for a moment
        sqlcipher.rotate_key(Path(database["NAME"]))
        rotated.append("database")
    photos = encryption.rotate(settings.DATA_DIR, Photo.objects.values_list("path", flat=True).iterator())
    rotated.append(f"photos={photos}")
    rotated.append(f"lake_files={pseudonyms.rotate(*storage.filesystem())}")
    record_as("cli", "system", "rotate_keys", "keys", detail=" ".join(rotated), purpose="key rotation")
    console.print(f"rotated {' '.join(rotated)}")


@app.command("backup")
def backup_command(
    directory: Annotated[Path, typer.Argument(help="A new or empty folder for the backup (files 0600).")],
) -> None:
    """Back up the whole service while it runs: database (encrypted as it is), lake, photos, keys, and a
    manifest of SHA-256 sums. Keep the folder as carefully as the service: it holds the keys."""
    setup()
    from safetynet import backup
    from safetynet.access.services import record_as

    try:
        done = backup.backup(directory)
    except backup.BackupError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    record_as(
        "cli",
        "system",
        "backup",
        "backup",
        str(directory)[:64],
        detail=json_counts(done.counts),
        purpose="backup",
    )
    console.print(f"backup={directory} files={done.files} {json_counts(done.counts)}")


@app.command("restore")
def restore_command(
    directory: Annotated[Path, typer.Argument(help="A folder written by `safetynet backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a service that already holds data.")
    ] = False,
) -> None:
    """Restore a backup into this service (empty, or --force): every file checked against the manifest
    first; keys, database, lake and photos put back; the schema brought up to date; counts compared."""
    setup()
    from safetynet import backup
    from safetynet.access.services import record_as

    try:
        done = backup.restore(directory, force=force)
    except backup.BackupError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    record_as(
        "cli",
        "system",
        "restore",
        "backup",
        str(directory)[:64],
        detail=json_counts(done.counts),
        purpose="backup",
    )
    console.print(f"restored={directory} files={done.files} {json_counts(done.counts)}")


def json_counts(counts: dict[str, int]) -> str:
    return " ".join(f"{name}={count}" for name, count in counts.items())


def recover_stale_work() -> None:
    """At start: what a killed process left running is marked failed and its files are removed."""
    from safetynet.access import audit
    from safetynet.lake.ingest import recover_interrupted
    from safetynet.lake.sources import FEEDS
    from safetynet.screening.services import recover_stale_runs

    audit.seal()
    runs = recover_stale_runs()
    batches = [b for source in FEEDS for b in recover_interrupted(source)]
    if runs or batches:
        console.print(f"已清理中断的工作：比对运行 {runs or '无'}，数据批次 {batches or '无'}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Don't start a worker beside the server (run `safetynet worker`).")
    ] = False,
) -> None:
    """Serve the web interface and API with a production WSGI server, and a worker for background jobs."""
    setup()
    from django.core.management import call_command
    from waitress import serve as waitress_serve

    from safetynet.wsgi import application

    call_command("collectstatic", interactive=False, verbosity=0)
    recover_stale_work()
    worker_process = None if no_worker else start_worker_beside()
    # SIGTERM (systemd, `kill`) ends the server by SystemExit, so the worker beside it is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    console.print(f"safetynet 已启动: http://{host}:{port}/  (API 文档 http://{host}:{port}/api/docs)")
    try:
        waitress_serve(application, host=host, port=port, threads=8)
    finally:
        if worker_process is not None and worker_process.poll() is None:
            worker_process.terminate()
            worker_process.wait(timeout=60)


def start_worker_beside() -> subprocess.Popen[bytes]:
    """`safetynet worker` as a child of this server: stopped with it, and told to stop (SIGTERM: it
    finishes the job in hand) if the server dies without a word."""
    return subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "safetynet.cli", "worker"], preexec_fn=_stop_with_parent  # noqa: PLW1509
    )


def _stop_with_parent() -> None:
    """Linux: SIGTERM to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    import contextlib
    import ctypes

    # Not Linux: stopping the server stops the worker through the `finally` of `serve`.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@app.command()
def worker() -> None:
    """Run background jobs: screening runs and backtests, department pushes, and the schedules set on
    /jobs/schedules/ (nightly run, daily escalation, feed freshness, monthly reports). Stop with Ctrl-C
    or SIGTERM; a job cut off by a kill is retried by the next worker."""
    setup()
    from django_q.cluster import Cluster

    from safetynet.jobs import services as jobs

    recover_stale_work()
    jobs.install_tick()
    jobs.tick()  # put back what a killed worker held, at once rather than at the first tick
    from django.db import connections

    connections.close_all()  # the cluster forks its processes: none may share this one's connection
    cluster = Cluster()
    cluster.start()
    # Our own SIGTERM and Ctrl-C: django-q2's handler waits on its sentinel process, and deadlocks when the
    # sentinel died of the same signal first (systemd and `kill -- -PGID` signal the whole group at once).
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    console.print("safetynet worker 已启动")
    while cluster.sentinel is not None and cluster.sentinel.is_alive() and not stopping.is_set():
        stopping.wait(1)
    if stopping.is_set():
        time.sleep(0.5)  # a signal to the whole group reaches the sentinel too: let it go first
        if cluster.sentinel is not None and cluster.sentinel.is_alive():
            cluster.stop()  # the signal was for this process alone: stop after the job in hand


@app.command()
def demo(
    persons: Annotated[int, typer.Option(help="Size of the demo county.")] = DEMO_PERSONS,
    seed: Annotated[int, typer.Option()] = DEMO_SEED,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after loading, don't serve.")] = False,
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """The main job: generate the demo county, import it, land its feeds, create demo users, serve."""
    setup()
    from safetynet.conf import data_dir
    from safetynet.demo import generator

    out = data_dir() / f"demo-county-{persons}-{seed}"
    if not (out / "README.txt").exists():
        demo_data(out, persons=persons, seed=seed, as_of=None)
    else:
        console.print(f"示例县数据已存在：{out}")
    registry_import(out, report=data_dir() / "demo-import-errors.csv")
    policies_seed(generator.DEFAULT_COUNTY)
    console.print("导入部门数据到数据湖：")
    ingest_demo_feeds(out)
    console.print("训练身份匹配参数：")
    try:
        linkage_train(None, as_of=_demo_as_of(out))
    except typer.Exit:
        console.print("[yellow]热线记录不足，身份匹配沿用默认参数[/yellow]")
    console.print("数据比对：")
    screen(as_of=_demo_as_of(out), engine="duckdb", dry_run=False, pack_version=None)
    logins = create_demo_users()
    console.print("生成示例办理历史（近 18 个月）：")
    from safetynet.demo import history

    made = history.simulate(cases=min(600, max(20, persons // 80)))
    console.print(f"  个案 {made.get('cases', 0)} 件，其中办理过的 {made.get('worked', 0)} 件")
    print_logins(logins)
    if not no_serve:
        serve(host="127.0.0.1", port=port)


def _demo_as_of(folder: Path) -> str | None:
    """The as-of date the demo county was generated for (its README says), so its warnings match."""
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    found = [part.split("=", 1)[1] for part in readme.split() if part.startswith("as_of=")]
    return found[0] if found else None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(ctx: typer.Context) -> None:
    """Run a Django management command, e.g. `safetynet manage createsuperuser`."""
    setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["safetynet manage", *ctx.args])


@cases_app.command("escalate")
def cases_escalate(
    today: Annotated[str | None, typer.Option(help="As of YYYY-MM-DD (default today).")] = None,
) -> None:
    """Record the climb of overdue cases to the township, then the county (run daily, e.g. from cron)."""
    setup()
    from safetynet.cases import inbox

    counts = inbox.escalate(_date_option(today))
    console.print(f"escalated to township: {counts['township']}, to county: {counts['county']}")


@reports_app.command("monthly")
def reports_monthly(
    month: Annotated[
        str | None, typer.Option(help="Produce this month YYYY-MM (default: last month).")
    ] = None,
) -> None:
    """Produce last month's statistics workbook and analysis brief for every county, city and province
    that has none yet (run daily: it waits for the month's first working day and never repeats itself)."""
    setup()
    from safetynet.reports import measures, monthly

    chosen = None
    if month is not None:
        chosen = measures.month_of(month)
        if chosen is None:
            err.print(f"月份“{month[:20]}”应为 YYYY-MM")
            raise typer.Exit(2)
    made = monthly.produce(chosen)
    for report in made:
        console.print(f"{report.region_code} {report.month:%Y-%m}: {report.workbook}, {report.brief}")
    console.print(f"produced: {len(made)}")


@reports_app.command("rebuild")
def reports_rebuild() -> None:
    """Count every case again from its steps and leads (after an upgrade, or to check the running
    tallies: a correct set changes nothing)."""
    setup()
    from safetynet.reports import tallies

    changed = tallies.rebuild()
    console.print(f"cases whose counts changed: {changed}")


@regions_app.command("boundaries")
def regions_boundaries(
    file: Annotated[
        Path,
        typer.Argument(
            help="GeoJSON FeatureCollection: one feature per region, code or name in its properties."
        ),
    ],
) -> None:
    """Import region outlines for the leaders' map (all or nothing; problems reported per feature)."""
    setup()
    from safetynet.regions.boundaries import BoundaryError, import_file

    try:
        done = import_file(file)
    except FileNotFoundError:
        err.print(f"找不到文件：{file}")
        raise typer.Exit(2) from None
    except BoundaryError as e:
        for problem in e.problems:
            err.print(problem)
        raise typer.Exit(1) from None
    console.print(f"boundaries imported: {len(done.regions)}")


def main() -> None:
    global _whole_process
    _whole_process = True  # the console script: the process ends with its one command
    started, outcome = time.perf_counter(), "ok"
    try:
        app(prog_name="safetynet")
    except SystemExit as done:
        outcome = "ok" if done.code in (0, None) else f"exit {done.code}"
        raise
    except BaseException as error:
        outcome = type(error).__name__
        raise
    finally:
        _log_command(outcome, time.perf_counter() - started)


def _log_command(outcome: str, seconds: float) -> None:
    """One JSON line per command in the service's log (once Django is set up: `--help` logs nothing).
    Only the command's words are kept, never its arguments (a file name may hold a name)."""
    from django.conf import settings

    if not settings.configured:
        return
    import logging
    import re

    words = [w for w in sys.argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", w)]
    logging.getLogger("safetynet.commands").info(
        "command %s %s",
        " ".join(words),
        outcome,
        extra={"command": " ".join(words), "outcome": outcome, "ms": round(seconds * 1000, 1), "user": os.environ.get("USER", "")},
    )


if __name__ == "__main__":
    main()
