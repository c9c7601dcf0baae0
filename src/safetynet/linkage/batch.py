"""Linking in bulk: the contract's `safetynet link IN.csv OUT.csv`, hotline feeds for screening, evaluation."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction

from safetynet.lake import pseudonyms, storage
from safetynet.lake.models import Batch
from safetynet.linkage.models import Decision, Recovery, ResolvedBatch
from safetynet.linkage.services import FIELDS, DecisionKind, Linker, Result, active_model, queue_reviews
from safetynet.tabular import FileRejected, RaggedRow, excel_safe, iter_rows, open_csv

# The contract's six columns, then the best candidate whatever the decision (a `review` row's too), so a
# county can set its own threshold on `probability` without rerunning anything.
OUT_COLUMNS = [
    "record_id", "id_number", "household_id", "probability", "decision", "explanation",
    "candidate_id_number", "candidate_household_id",
]  # fmt: skip
CHUNK = 2000


@dataclass
class LinkSummary:
    rows: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    duplicate_ids: int = 0

    def line(self) -> str:
        parts = " ".join(
            f"{k}={self.decisions[k]}"
            for k in (DecisionKind.MATCH, DecisionKind.REVIEW, DecisionKind.UNKNOWN)
        )
        return f"rows={self.rows} {parts} errors={self.errors} duplicate_record_ids={self.duplicate_ids}"


def link_file(
    in_path: Path, out_path: Path, as_of: dt.date | None = None, queue: bool = False
) -> LinkSummary:
    """One output row per input row, in order; a row that cannot be read says why and is kept."""
    source = open_csv(in_path, required=[], known=["record_id", *FIELDS])
    if not set(source.header) & set(FIELDS):
        raise FileRejected(in_path.name, f"没有可用于匹配的列（应有 {'、'.join(FIELDS)} 中的至少一列）")
    linker = Linker(as_of=as_of or dt.date.today())
    summary = LinkSummary()
    seen: set[str] = set()
    columns = ["record_id", *FIELDS]
    with out_path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(OUT_COLUMNS)
        for chunk in _chunks(iter_rows(source, columns)):
            raws = [dict(zip(columns, values, strict=True)) for _, values in chunk if values is not None]
            results = iter(linker.link_many(raws))
            reviews = []
            for line, values in chunk:
                summary.rows += 1
                if values is None:
                    summary.errors += 1
                    summary.decisions[DecisionKind.UNKNOWN] += 1
                    writer.writerow(
                        [
                            f"第{line}行",
                            "",
                            "",
                            "0",
                            DecisionKind.UNKNOWN,
                            f"第 {line} 行列数与表头不符，未匹配",
                            "",
                            "",
                        ]
                    )
                    continue
                record_id = values[0] or f"第{line}行"
                if record_id in seen:
                    summary.duplicate_ids += 1
                seen.add(record_id)
                result = next(results)
                summary.errors += bool(result.error)
                summary.decisions[result.decision] += 1
                writer.writerow(_out_row(record_id, result))
                reviews.append(
                    (f"{in_path.name}:{record_id}", dict(zip(columns, values, strict=True)), result)
                )
            if queue:
                queue_reviews("link", reviews)
    return summary


def _chunks(
    rows: Iterator[tuple[int, list[str]] | RaggedRow],
) -> Iterator[list[tuple[int, list[str] | None]]]:
    chunk: list[tuple[int, list[str] | None]] = []
    for row in rows:
        chunk.append((row.line, None) if isinstance(row, RaggedRow) else row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _out_row(record_id: str, result: Result) -> list[str]:
    best = result.best
    matched = result.decision == DecisionKind.MATCH and best is not None
    return [
        excel_safe(record_id),
        best.id_number if matched and best else "",
        best.household_id if matched and best else "",
        f"{best.probability:.4f}" if best else "0",
        result.decision,
        excel_safe(result.explanation),
        best.id_number if best else "",
        best.household_id if best else "",
    ]


# ---------------------------------------------------------------------------------------------
# Hotline feeds: calls resolved to persons, written to the lake for screening's repeat_hotline.

RESOLVED_SOURCE = "linkage_hotline"
RESOLVED_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("id_number", pa.string()),
        ("probability", pa.float64()),
        ("decision", pa.string()),
    ]
)


HOTLINE_COLUMNS = ["call_id", "caller_name", "caller_phone", "id_number", "region_text"]


def _hotline_raws(calls: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "name": c["caller_name"],
            "phone": c["caller_phone"],
            "id_number": c["id_number"],
            "address_text": c["region_text"],
        }
        for c in calls
    ]


def _hotline_calls(fs, root: str, batch_id: int) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A landed hotline batch's calls, with ID numbers and phones back from the lake's pseudonyms."""
    table = pq.read_table(
        storage.batch_dir(root, "hotline", batch_id), filesystem=fs, columns=HOTLINE_COLUMNS
    )
    calls = table.to_pylist()
    ids = pseudonyms.reveal_ids([c["id_number"] for c in calls])
    phones = pseudonyms.reveal_phones([c["caller_phone"] for c in calls])
    for call, id_number, phone in zip(calls, ids, phones, strict=True):
        call.update(id_number=id_number, caller_phone=phone)
    return calls


def resolved_folders() -> tuple[list[tuple[int, str]], str]:
    """The resolved hotline batches as screening input: [(hotline batch id, folder)], and their base."""
    _, root = storage.filesystem()
    base = f"{root}/{RESOLVED_SOURCE}"
    ids = (
        ResolvedBatch.objects.filter(batch__source="hotline")
        .order_by("batch_id")
        .values_list("batch_id", flat=True)
    )
    return [(batch_id, f"{base}/batch={batch_id}") for batch_id in ids], base


def resolve_hotline() -> int:
    """Resolve every hotline batch not yet resolved with the active model and the latest human decisions.

    Returns how many batches were (re)resolved. Uncertain calls go to the review queue.
    """
    model = active_model()
    upto = Decision.objects.order_by("-id").values_list("id", flat=True).first() or 0
    fs, root = storage.filesystem()
    done = 0
    batches = Batch.objects.filter(source="hotline", status=Batch.Status.DONE, accepted__gt=0).order_by("id")
    for batch in batches:
        current = ResolvedBatch.objects.filter(batch=batch).first()
        if current is not None and current.model_id == model.pk and current.decisions_upto == upto:
            continue
        calls = _hotline_calls(fs, root, batch.pk)
        raws = _hotline_raws(calls)
        results = Linker(model=model).link_many(raws)
        rows = [
            {
                "call_id": call["call_id"],
                "id_number": r.best.id_number if r.decision == DecisionKind.MATCH and r.best else None,
                "probability": r.best.probability if r.best else 0.0,
                "decision": r.decision,
            }
            for call, r in zip(calls, results, strict=True)
        ]
        folder = f"{root}/{RESOLVED_SOURCE}/batch={batch.pk}"
        fs.makedirs(folder, exist_ok=True)
        resolved = pa.Table.from_pylist(rows, schema=RESOLVED_SCHEMA)
        resolved = resolved.set_column(1, "id_number", pseudonyms.id_numbers(resolved.column("id_number")))
        with fs.open(f"{folder}/part-0.parquet.writing", "wb") as f:
            pq.write_table(resolved, f)
        fs.mv(f"{folder}/part-0.parquet.writing", f"{folder}/part-0.parquet")  # a reader sees it whole
        queue_reviews(
            "hotline",
            (
                (f"hotline:{batch.pk}:{c['call_id']}", raw, r)
                for c, raw, r in zip(calls, raws, results, strict=True)
            ),
        )
        counts = Counter(r.decision for r in results)
        with transaction.atomic():
            ResolvedBatch.objects.update_or_create(
                batch=batch,
                defaults={
                    "model": model,
                    "decisions_upto": upto,
                    "rows": len(rows),
                    "matched": counts[DecisionKind.MATCH],
                    "review": counts[DecisionKind.REVIEW],
                },
            )
        done += 1
    return done


# ---------------------------------------------------------------------------------------------
# Feed rows quarantined for their ID number: recovered through name and the check digit, landed again.


def _feeds_with_names() -> list[str]:
    from safetynet.lake.sources import FEEDS

    return [
        source
        for source, spec in FEEDS.items()
        if source != "hotline" and {"id_number", "name"} <= set(spec.names)
    ]


def recover_quarantined_ids(tmp_dir: Path | None = None) -> int:
    """Rows a department sent with a mistyped, mangled or missing ID number were quarantined at ingest.
    Those the matcher resolves with confidence (name plus what is left of the ID) are written again with
    the person's ID and land as a new batch of the same source, through the same validation, with
    `recovered_from` (batch:line) and `link_probability` columns; uncertain ones wait in the review queue.
    Each row is recovered once. Returns how many rows landed."""
    import json
    import tempfile

    from safetynet.lake import services as lake

    model = active_model()
    upto = Decision.objects.order_by("-id").values_list("id", flat=True).first() or 0
    landed = 0
    for source in _feeds_with_names():
        # A file whose every row failed is "rejected" as a whole, yet its rows wait in quarantine too.
        batches = Batch.objects.filter(
            source=source, status__in=[Batch.Status.DONE, Batch.Status.REJECTED], rejected__gt=0
        ).exclude(department="linkage")
        rows: list[dict[str, str]] = []
        recovered: list[tuple[Batch, int, str, float]] = []
        for batch in batches.order_by("id"):
            current = ResolvedBatch.objects.filter(batch=batch).first()
            if current is not None and current.model_id == model.pk and current.decisions_upto == upto:
                continue
            done = set(Recovery.objects.filter(batch=batch).values_list("line", flat=True))
            by_line: dict[int, list[lake.QuarantineRow]] = {}
            for q in lake.read_quarantine(batch, limit=None):
                if q.line is not None and q.line not in done:
                    by_line.setdefault(q.line, []).append(q)
            # Only rows whose every problem is the ID number: anything else stays in quarantine.
            candidates = {
                line: qs[0].raw for line, qs in by_line.items() if all(q.column == "id_number" for q in qs)
            }
            raws = {line: json.loads(raw) for line, raw in candidates.items() if raw}
            lines = sorted(raws)
            queries = [
                {"name": raws[line].get("name", ""), "id_number": raws[line].get("id_number", "")}
                for line in lines
            ]
            results = Linker(model=model).link_many(queries)
            queue_reviews(
                source,
                (
                    (f"{source}:{batch.pk}:{line}", query, r)
                    for line, query, r in zip(lines, queries, results, strict=True)
                ),
            )
            for line, result in zip(lines, results, strict=True):
                best = result.best
                if result.decision == DecisionKind.MATCH and best is not None:
                    row = {k: str(v if v is not None else "") for k, v in raws[line].items()}
                    row.update(id_number=best.id_number, recovered_from=f"{batch.pk}:{line}")
                    row["link_probability"] = f"{best.probability:.4f}"
                    rows.append(row)
                    recovered.append((batch, line, best.id_number, best.probability))
            counts = Counter(r.decision for r in results)
            ResolvedBatch.objects.update_or_create(
                batch=batch,
                defaults={
                    "model": model,
                    "decisions_upto": upto,
                    "rows": len(lines),
                    "matched": counts[DecisionKind.MATCH],
                    "review": counts[DecisionKind.REVIEW],
                },
            )
        if not rows:
            continue
        with tempfile.TemporaryDirectory(dir=tmp_dir) as folder:
            path = Path(folder) / f"recovered-{source}.csv"
            header = list(dict.fromkeys(k for row in rows for k in row))
            with path.open("w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=header)
                writer.writeheader()
                writer.writerows(rows)
            ingested = lake.ingest(source, path, submitted_by="linkage", department="linkage")
        target = Batch.objects.get(pk=ingested.batch_id)
        with transaction.atomic():
            for batch, line, id_number, probability in recovered:
                Recovery.objects.get_or_create(
                    batch=batch,
                    line=line,
                    defaults={"recovered_batch": target, "id_number": id_number, "probability": probability},
                )
        landed += ingested.accepted
    return landed


# ---------------------------------------------------------------------------------------------
# Evaluation against a labelled set


@dataclass
class Evaluation:
    records: int
    in_registry: int
    auto_precision: float
    auto_recall: float
    curve: list[tuple[float, float, float]]  # (threshold, precision, recall) on the best candidate

    def best_recall_at(self, precision: float) -> float:
        return max((r for _, p, r in self.curve if p >= precision), default=0.0)

    def at(self, threshold: float) -> tuple[float, float]:
        """(precision, recall) when every best candidate at or above `threshold` is taken as the person."""
        taken = [(p, r) for t, p, r in self.curve if t >= threshold]
        return taken[-1] if taken else (1.0, 0.0)


def evaluate(leads_path: Path, truth_path: Path, as_of: dt.date, linker: Linker | None = None) -> Evaluation:
    """Precision and recall of the automatic decisions, and the curve over every probability threshold.

    The curve ranks each record's best candidate by probability, whatever the decision said: it shows
    what a county admin would get by moving the match threshold.
    """
    with truth_path.open(encoding="utf-8-sig", newline="") as f:
        truth = {r["record_id"]: r["id_number"] for r in csv.DictReader(f)}
    with leads_path.open(encoding="utf-8-sig", newline="") as f:
        leads = list(csv.DictReader(f))
    linker = linker or Linker(as_of=as_of)
    results = linker.link_many(leads)
    in_registry = sum(1 for v in truth.values() if v)
    auto = correct = 0
    scored: list[tuple[float, bool]] = []
    for lead, result in zip(leads, results, strict=True):
        expected = truth.get(lead["record_id"], "")
        best = result.best
        if best is not None:
            scored.append((best.probability, best.id_number == expected))
        if result.decision == DecisionKind.MATCH and best is not None:
            auto += 1
            correct += best.id_number == expected
    return Evaluation(
        records=len(leads),
        in_registry=in_registry,
        auto_precision=correct / auto if auto else 1.0,
        auto_recall=correct / in_registry if in_registry else 1.0,
        curve=curve(scored, in_registry),
    )


def curve(scored: list[tuple[float, bool]], in_registry: int) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at each distinct probability of best candidates, highest first."""
    points = []
    hits = 0
    ordered = sorted(scored, key=lambda s: -s[0])
    for taken, (probability, right) in enumerate(ordered, 1):
        hits += right
        if taken == len(ordered) or ordered[taken][0] != probability:
            points.append((probability, hits / taken, hits / in_registry if in_registry else 1.0))
    return points


def hotline_records() -> list[dict[str, str]]:
    """Every landed hotline call as a partial record: what the model learns from by default."""
    fs, root = storage.filesystem()
    raws: list[dict[str, str]] = []
    for batch_id in Batch.objects.filter(
        source="hotline", status=Batch.Status.DONE, accepted__gt=0
    ).values_list("id", flat=True):
        raws.extend(_hotline_raws(_hotline_calls(fs, root, batch_id)))
    if not raws:
        raise ValueError("数据湖中还没有热线记录可供训练，请指定训练记录文件")
    return raws
