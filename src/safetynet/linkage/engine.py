"""Fellegi–Sunter scoring and the EM that estimates its parameters, independent of any one schema.

A schema says how to prepare a raw record, which blocking keys it has and which comparisons to make;
each comparison maps a (query, candidate) pair to a level (0 = strongest agreement) or None when the
query does not say. The model holds, per comparison and level, m = P(level | same person) and
u = P(level | different persons); a pair's match weight is the sum of log2(m/u) over the comparisons
the query speaks to, and its probability follows from the prior share of matches among blocked pairs.

Why not Splink (a well-known choice): Splink expresses comparisons as SQL over two tables and answers
a new record through a DuckDB pipeline (hundreds of milliseconds a call); our comparisons are Python
functions (pinyin heteronyms, check-digit recovery, the region tree) that the online lookup must run
within 50 ms. The estimation is Splink's own recipe: u from random pairs, m by EM on blocked pairs.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

P = TypeVar("P")
R = TypeVar("R", contravariant=True)


class Comparison(Protocol[R]):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str:  # what a clerk calls the field: 姓名, 身份证号 …
        ...

    @property
    def levels(self) -> tuple[str, ...]:  # a short description of each level, strongest agreement first
        ...

    def level(self, query: R, candidate: R) -> int | None: ...


@dataclass
class Schema(Generic[P]):
    name: str
    comparisons: Sequence[Comparison[P]]
    prepare: Callable[[dict[str, Any]], P]
    keys: Callable[[P], Iterable[str]]
    query_keys: Callable[[P], Iterable[str]] | None = None  # defaults to keys
    # Pairs that are surely the same person: each anchor is fields with the weakest level each may have
    # (all must hold). m of a field is learned from anchors that do not involve it.
    anchors: Sequence[tuple[tuple[str, ...], tuple[int, ...]]] = ()

    def lookup_keys(self, record: P) -> list[str]:
        return list(dict.fromkeys((self.query_keys or self.keys)(record)))

    def vector(self, query: P, candidate: P) -> list[int]:
        return [(-1 if (lv := c.level(query, candidate)) is None else lv) for c in self.comparisons]


@dataclass
class Model:
    """m and u per comparison level, and the prior share of true matches among blocked pairs."""

    schema: str
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    trained_on: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "m": self.m,
            "u": self.u,
            "prior": self.prior,
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(data["schema"], data["m"], data["u"], float(data["prior"]), data.get("trained_on", {}))

    def weights(self, schema: Schema[Any]) -> list[list[float]]:
        return [
            [math.log2(m / u) for m, u in zip(self.m[c.name], self.u[c.name], strict=True)]
            for c in schema.comparisons
        ]


class Scorer(Generic[P]):
    """A schema with a model: the probability and the explanation of a candidate pair."""

    def __init__(self, schema: Schema[P], model: Model):
        self.schema = schema
        self.model = model
        self._weights = model.weights(schema)
        self._prior_weight = math.log2(model.prior / (1 - model.prior))
        # Level -1 (the query did not say) reads the 0.0 at the end: a batch scores millions of pairs.
        self._tables = [(*w, 0.0) for w in self._weights]

    def weight(self, vector: Sequence[int]) -> float:
        return self._prior_weight + sum(map(operator.getitem, self._tables, vector))

    @staticmethod
    def probability(weight: float) -> float:
        if weight > 60:
            return 1.0
        return 2**weight / (1 + 2**weight)

    def explain(self, vector: Sequence[int]) -> list[dict[str, Any]]:
        """Per field: how it compared, and how much that moved the odds (bits of evidence)."""
        parts = []
        for i, comparison in enumerate(self.schema.comparisons):
            level = vector[i]
            if level < 0:
                continue
            parts.append(
                {
                    "field": comparison.name,
                    "label": comparison.label,
                    "level": level,
                    "text": comparison.levels[level],
                    "weight": round(self._weights[i][level], 2),
                }
            )
        return parts


def explanation_text(parts: list[dict[str, Any]]) -> str:
    return "；".join(f"{p['label']}{p['text']}" for p in parts)


# ---------------------------------------------------------------------------------------------
# Estimation

SMOOTHING = 0.5  # pseudo-count per level so that a level never seen in training keeps a finite weight


def level_shares(vectors: np.ndarray, weights: np.ndarray, sizes: Sequence[int]) -> list[list[float]]:
    shares = []
    for j, size in enumerate(sizes):
        column = vectors[:, j]
        seen = column >= 0
        counts = np.bincount(column[seen], weights=weights[seen], minlength=size)[:size] + SMOOTHING
        shares.append((counts / counts.sum()).tolist())
    return shares


def estimate_u(
    schema: Schema[P], queries: Sequence[P], reference: Sequence[P], pairs: int, seed: int = 7
) -> dict[str, list[float]]:
    """u from random (query, reference) pairs: almost all are different people, as Splink does it.

    The queries must be records like those that will be linked (with their missing and partial
    fields), not registry rows: "only the township was given" happens only in queries.
    """
    rng = random.Random(seed)
    if not queries or not reference:
        raise ValueError("need records and a reference to estimate u")
    vectors = [
        schema.vector(queries[rng.randrange(len(queries))], reference[rng.randrange(len(reference))])
        for _ in range(pairs)
    ]
    array = np.array(vectors, dtype=np.int64)
    sizes = [len(c.levels) for c in schema.comparisons]
    shares = level_shares(array, np.ones(len(array)), sizes)
    return {c.name: shares[k] for k, c in enumerate(schema.comparisons)}


def expectation_maximisation(
    schema: Schema[Any],
    vectors: np.ndarray,
    start: Model,
    *,
    fix_u: bool = True,
    fix_m: bool = False,
    active: Sequence[bool] | None = None,
    comparable_pairs: float | None = None,
    iterations: int = 50,
    tolerance: float = 1e-6,
) -> Model:
    """Fellegi–Sunter EM over blocked pairs' comparison vectors (-1 = the query did not say).

    `active` leaves out the comparisons the pairs were blocked on: they agree by construction, so they
    say nothing about who matches (Splink's training sessions do the same). With m and u fixed it
    estimates only the prior.

    `comparable_pairs` (queries × reference records) makes the prior the chance that two random records
    match, as u is measured on random pairs; the blocked pairs then hold (nearly) all of the matches.
    Left out, the prior is the share of matches among the blocked pairs.
    """
    sizes = [len(c.levels) for c in schema.comparisons]
    names = [c.name for c in schema.comparisons]
    if active is not None:
        vectors = vectors.copy()
        for j, on in enumerate(active):
            if not on:
                vectors[:, j] = -1
    m = [np.array(start.m[n]) for n in names]
    u = [np.array(start.u[n]) for n in names]
    prior = start.prior
    for _ in range(iterations):
        log_m = np.zeros(len(vectors))
        log_u = np.zeros(len(vectors))
        for j in range(len(names)):
            column = vectors[:, j]
            seen = column >= 0
            log_m[seen] += np.log(m[j][column[seen]])
            log_u[seen] += np.log(u[j][column[seen]])
        odds = np.clip(np.log(prior / (1 - prior)) + log_m - log_u, -700, 700)
        posterior = 1 / (1 + np.exp(-odds))
        share = posterior.sum() / comparable_pairs if comparable_pairs else posterior.mean()
        new_prior = float(np.clip(share, 1e-12, 1 - 1e-6))
        new_m = m if fix_m else [np.array(s) for s in level_shares(vectors, posterior, sizes)]
        if not fix_u:
            u = [np.array(s) for s in level_shares(vectors, 1 - posterior, sizes)]
        change = max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True))
        change = max(change, abs(new_prior - prior))
        m, prior = new_m, new_prior
        if change < tolerance:
            break
    return Model(
        schema.name,
        {n: m[j].tolist() for j, n in enumerate(names)},
        {n: u[j].tolist() for j, n in enumerate(names)},
        prior,
        dict(start.trained_on),
    )


MIN_ANCHORS = 30  # fewer anchor pairs than this for a field: keep its starting m


def estimate_m(
    schema: Schema[Any], vectors: np.ndarray, start: dict[str, list[float]]
) -> dict[str, list[float]]:
    """m of each field from the anchor pairs that do not involve it.

    Plain EM over blocked pairs was tried first and learnt households instead of persons: relatives
    share a village, a surname and often a phone, which breaks the model's independence assumption, and
    EM happily calls them matches. Anchors are pairs no household resemblance produces.
    """
    names = [c.name for c in schema.comparisons]
    sizes = [len(c.levels) for c in schema.comparisons]
    m: dict[str, list[float]] = {}
    for j, name in enumerate(names):
        anchors = np.zeros(len(vectors), dtype=bool)
        for fields, weakest in schema.anchors:
            if name in fields:
                continue
            holds = np.ones(len(vectors), dtype=bool)
            for field_name, level in zip(fields, weakest, strict=True):
                column = vectors[:, names.index(field_name)]
                holds &= (column >= 0) & (column <= level)
            anchors |= holds
        rows = vectors[anchors]
        if int((rows[:, j] >= 0).sum()) < MIN_ANCHORS:
            m[name] = start[name]
            continue
        m[name] = level_shares(rows[:, j : j + 1], np.ones(len(rows)), [sizes[j]])[0]
    return m


def fit(
    schema: Schema[Any], vectors: np.ndarray, u: dict[str, list[float]], start: Model, comparable_pairs: float
) -> Model:
    """u (given, from random pairs), m from anchors, then the prior by EM over every blocked pair."""
    model = Model(schema.name, estimate_m(schema, vectors, start.m), u, start.prior)
    return expectation_maximisation(schema, vectors, model, fix_m=True, comparable_pairs=comparable_pairs)


def blocked_pairs(
    schema: Schema[P], queries: Sequence[P], reference: Sequence[P], max_block: int = 500
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Every (query, reference) pair sharing a blocking key, with comparison vectors; in memory."""
    index: dict[str, list[int]] = {}
    for j, record in enumerate(reference):
        for key in schema.keys(record):
            index.setdefault(key, []).append(j)
    pairs: list[tuple[int, int]] = []
    vectors: list[list[int]] = []
    for i, query in enumerate(queries):
        found: set[int] = set()
        for key in schema.lookup_keys(query):
            block = index.get(key, ())
            if len(block) <= max_block:
                found.update(block)
        for j in sorted(found):
            pairs.append((i, j))
            vectors.append(schema.vector(query, reference[j]))
    return pairs, np.array(vectors, dtype=np.int64).reshape(len(vectors), len(schema.comparisons))
