"""The tables a screening run reads, with their columns and portable SQL types.

Every engine exposes the registry snapshot and each feed under these names with these types, whatever
types the Parquet happened to carry (an all-empty column, integers written as money ...), so the feature
SQL sees one schema on every engine. A feed with no batch yet is an empty table of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from safetynet.lake.sources import FEEDS

# Column kinds of the lake's specs -> SQL types both DuckDB and Spark understand.
SQL_TYPES = {
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(14, 2)",
    "ratio": "DECIMAL(8, 4)",
    "int": "INTEGER",
    "bool": "BOOLEAN",
}
TEXT = "VARCHAR"


@dataclass(frozen=True)
class InputTable:
    name: str  # the table name the feature SQL uses
    columns: tuple[tuple[str, str], ...]  # (column, SQL type)
    source: str  # the lake source or registry table it comes from
    registry: bool = False  # from the registry snapshot rather than a feed

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


REGISTRY_INPUTS = (
    InputTable(
        "reg_households",
        (("household_id", TEXT), ("region_code", TEXT), ("area_type", TEXT)),
        "households",
        registry=True,
    ),
    InputTable(
        "reg_persons",
        (
            ("id_number", TEXT),
            ("household_id", TEXT),
            ("relation", TEXT),
            ("birth_date", "DATE"),
            ("phone", TEXT),
            ("disability_level", "INTEGER"),
            ("self_care", TEXT),
            ("employment", TEXT),
            ("serious_illness", "BOOLEAN"),
            ("monthly_income", "DECIMAL(14, 2)"),
            ("death_date", "DATE"),
        ),
        "persons",
        registry=True,
    ),
    InputTable(
        "reg_assistance",
        (
            ("id_number", TEXT),
            ("household_id", TEXT),
            ("program", TEXT),
            ("start_date", "DATE"),
            ("end_date", "DATE"),
        ),
        "assistance",
        registry=True,
    ),
    InputTable(
        "reg_applications",
        (
            ("application_id", TEXT),
            ("household_id", TEXT),
            ("id_number", TEXT),
            ("program", TEXT),
            ("applied_on", "DATE"),
            ("decision", TEXT),
            ("decided_on", "DATE"),
        ),
        "applications",
        registry=True,
    ),
    InputTable(
        "reg_standards",
        (
            ("county_code", TEXT),
            ("year", "INTEGER"),
            ("area_type", TEXT),
            ("dibao_monthly", "DECIMAL(14, 2)"),
            ("tekun_monthly", "DECIMAL(14, 2)"),
            ("edge_multiplier", "DECIMAL(8, 4)"),
            ("rigid_expense_ratio", "DECIMAL(8, 4)"),
        ),
        "standards",
        registry=True,
    ),
    # Household incomes found at verification visits (cases → registry), newest per household wins.
    InputTable(
        "reg_verified_incomes",
        (("id", "BIGINT"), ("household_id", TEXT), ("monthly_income", "DECIMAL(14, 2)"), ("visited_on", "DATE")),
        "verified_incomes",
        registry=True,
    ),
)


def _feed_input(source: str) -> InputTable:
    spec = FEEDS[source]
    columns = tuple((c.name, SQL_TYPES.get(c.kind, TEXT)) for c in spec.columns)
    # batch and _record locate the source row: the evidence of a warning.
    return InputTable(f"feed_{source}", (*columns, ("batch", "BIGINT"), ("_record", "BIGINT")), source)


FEED_INPUTS = tuple(_feed_input(source) for source in FEEDS)
# Hotline calls resolved to persons by the linkage app (call_id -> id_number when decided "match").
LINKED_INPUTS = (
    InputTable(
        "link_hotline",
        (
            ("call_id", TEXT),
            ("id_number", TEXT),
            ("probability", "DOUBLE"),
            ("decision", TEXT),
            ("batch", "BIGINT"),
        ),
        "linkage_hotline",
    ),
)
INPUTS = (*REGISTRY_INPUTS, *FEED_INPUTS, *LINKED_INPUTS)


def typed_select(table: InputTable, relation: str, actual: dict[str, str] | None = None) -> str:
    """SELECT every column of `relation` as the input's type.

    `actual` (column -> SQL type of the Parquet, when the engine knows it) lets a column that already has
    its type pass untouched: the lake's ingest writes typed, trimmed values with NULL for empty, and a
    cast or trim on every row of a hundred-million-row feed is not free. The registry snapshot keeps ''
    for a blank text field, which becomes NULL here.
    """
    parts = []
    for name, sql_type in table.columns:
        found = (actual or {}).get(name, "").replace(" ", "")
        if found == sql_type.replace(" ", "") and not (table.registry and sql_type == TEXT):
            parts.append(name)
        elif found == sql_type.replace(" ", ""):
            parts.append(f"NULLIF({name}, '') AS {name}")
        elif sql_type == TEXT:
            parts.append(f"NULLIF(TRIM(CAST({name} AS VARCHAR)), '') AS {name}")
        else:
            parts.append(f"CAST({name} AS {sql_type}) AS {name}")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def empty_select(table: InputTable) -> str:
    """A zero-row relation with the input's columns, for a feed that has no batch yet."""
    parts = [f"CAST(NULL AS {sql_type}) AS {name}" for name, sql_type in table.columns]
    return f"SELECT {', '.join(parts)} WHERE 1 = 0"
