"""Subtree ranges drive every region scope: check them at each level and at the edges."""

from __future__ import annotations

import pytest

from safetynet.regions import services


@pytest.mark.parametrize(
    "code,level,low,high",
    [
        ("370000000000", "province", "370000000000", "379999999999"),
        ("371400000000", "city", "371400000000", "371499999999"),
        ("371427000000", "county", "371427000000", "371427999999"),
        ("371427101000", "township", "371427101000", "371427101999"),
        ("371427101201", "village", "371427101201", "371427101201"),
    ],
)
def test_subtree_range(code: str, level: str, low: str, high: str) -> None:
    assert services.subtree_range(code, level) == (low, high)


def test_in_subtree_respects_boundaries() -> None:
    assert services.in_subtree("371427101201", "371427101000", "township")
    assert not services.in_subtree("371427102201", "371427101000", "township")
    assert not services.in_subtree("371428000000", "371427000000", "county")


def test_county_names_come_from_stdnum_across_periods() -> None:
    assert "夏津县" in services.stdnum_county_names("371427")
    assert "夏津县" in services.stdnum_county_names("372423")  # the code before 1994
    assert services.stdnum_county_names("379999") == ()


def test_parent_prefix_rules() -> None:
    assert services.expected_parent_level("village") == "township"
    assert services.expected_parent_level("province") is None
    assert services.prefix_matches_parent("371427101201", "village", "371427101000", "township")
    assert not services.prefix_matches_parent("371427101201", "village", "371427102000", "township")
