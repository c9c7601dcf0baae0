"""Output files: canonical columns and encodings, per-township chunk files and their assembly."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from safetynet.lake.sources import FEEDS

REGISTRY_COLUMNS = {
    "regions.csv": ["code", "name", "level", "parent_code"],
    "households.csv": ["household_id", "region_code", "address", "area_type", "head_id_number"],
    "persons.csv": [
        "id_number",
        "name",
        "gender",
        "birth_date",
        "household_id",
        "relation",
        "phone",
        "disability_level",
        "disability_type",
        "self_care",
        "serious_illness",
        "employment",
        "monthly_income",
    ],
    "assistance.csv": [
        "id_number",
        "household_id",
        "program",
        "status",
        "start_date",
        "end_date",
        "monthly_amount",
    ],
    "applications.csv": (
        [
            "application_id",
            "household_id",
            "id_number",
            "program",
            "applied_on",
            "decision",
            "decided_on",
            "reason",
        ]
    ),
    "standards.csv": (
        [
            "county_code",
            "year",
            "area_type",
            "dibao_monthly",
            "tekun_monthly",
            "edge_multiplier",
            "rigid_expense_ratio",
        ]
    ),
}
# The feeds' canonical columns, from the lake's own specs (plain Python, no Django), so the generator
# and the ingest can never disagree about a column.
FEED_COLUMNS = {source: spec.names for source, spec in FEEDS.items()}
GROUND_TRUTH_COLUMNS = ["household_id", "id_number", "event", "source", "event_date", "detail"]
COLUMNS = {
    **REGISTRY_COLUMNS,
    **{f"{source}.csv": columns for source, columns in FEED_COLUMNS.items()},
    "ground_truth.csv": GROUND_TRUTH_COLUMNS,
    "near_misses.csv": ["household_id", "rule_id", "kind"],
}

# Old departmental systems export GBK; the school system's Excel export carries a UTF-8 BOM.
GBK_FILES = ("medical_claims.csv", "disability.csv", "hotline.csv")
BOM_FILES = ("students.csv",)


def _encoding(filename: str) -> str:
    return "gbk" if filename in GBK_FILES else "utf-8"


def _create(path: Path) -> IO[str]:
    return open(path, "w", encoding=_encoding(path.name), newline="", buffering=1 << 16)  # noqa: SIM115


class ChunkWriters:
    """CSV writers, one per output file, for one chunk (a township, or the county-wide rows).

    Chunks are written without header in each file's final encoding, so assembling is byte copying.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.files = ExitStack()
        self.rows: dict[str, Any] = {}  # filename -> csv writer
        for filename in COLUMNS:
            handle = self.files.enter_context(_create(directory / filename))
            self.rows[filename] = csv.writer(handle, lineterminator="\n")

    def close(self) -> None:
        self.files.close()


def assemble(out_dir: Path, chunks: list[Path]) -> dict[str, int]:
    """Concatenate header and chunks, in order, into each final file; return data rows per file."""
    counts: dict[str, int] = {}
    for filename, header in COLUMNS.items():
        rows = 0
        with open(out_dir / filename, "wb") as target:
            if filename in BOM_FILES:
                target.write("\ufeff".encode())
            target.write((",".join(header) + "\n").encode(_encoding(filename)))
            for chunk in chunks:
                with open(chunk / filename, "rb") as source:
                    # No field contains a line break, so rows are lines.
                    while block := source.read(1 << 22):
                        rows += block.count(b"\n")
                        target.write(block)
        counts[filename] = rows
    return counts
