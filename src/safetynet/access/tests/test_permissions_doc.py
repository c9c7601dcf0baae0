"""The permission table in docs/architecture.md is the one the code enforces."""

from __future__ import annotations

from pathlib import Path

from safetynet.access.permissions import markdown_table

DOC = Path(__file__).resolve().parents[4] / "docs" / "architecture.md"


def test_the_documented_table_is_the_enforced_one() -> None:
    assert markdown_table() in DOC.read_text(encoding="utf-8"), (
        "docs/architecture.md's permission table differs from access/permissions.py: "
        "paste markdown_table() into it"
    )
