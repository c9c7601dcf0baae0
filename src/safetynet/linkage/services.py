"""Who is this? Ranked registry candidates for a partial record, online and in batch.

Candidates come from the blocking index (`PersonKey`), are scored by the active Fellegi–Sunter model
and limited to the caller's region before anything is read. Human decisions on earlier reviews of the
same record win over the model.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from safetynet.access import ratelimit
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.linkage import chinese
from safetynet.linkage import persons as schema_module
from safetynet.linkage.address import AddressResolver
from safetynet.linkage.engine import Model, Scorer, estimate_u, explanation_text, fit
from safetynet.linkage.models import Decision, IndexedPerson, LinkageModel, PersonKey, Review, VillageAlias
from safetynet.linkage.persons import InvalidRecord, PersonRecord, person_schema, registry_record
from safetynet.regions import services as regions
from safetynet.regions.models import Level, Region
from safetynet.registry.models import Household, Person

FIELDS = ("name", "id_number", "phone", "birth_date", "age", "gender", "region_code", "address_text")
MAX_BLOCK = 300  # a key shared by more persons than this says too little to be worth reading
MAX_FIELD = 200
QUERY_CHUNK = 500  # records whose keys are read in one query (SQLite allows 32,766 parameters)


class DecisionKind:
    MATCH = "match"
    REVIEW = "review"
    UNKNOWN = "unknown"


@dataclass
class Candidate:
    id_number: str
    name: str
    gender: str
    birth_date: dt.date
    household_id: str
    region_code: str
    probability: float
    explanation: list[dict[str, Any]]
    decided_by_person: bool = False
    exact: str = ""  # "id_number" or "phone" when the record's whole ID number or phone is this person's

    @property
    def text(self) -> str:
        if self.decided_by_person:
            return "人工已确认为同一人"
        return explanation_text(self.explanation)


@dataclass
class Result:
    decision: str
    candidates: list[Candidate]
    fingerprint: str
    place_how: str = ""
    error: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def explanation(self) -> str:
        if self.error:
            return self.error
        best = self.best
        if best is None:
            return "登记库中没有可能的对象"
        text = f"最可能：{best.text}（概率 {best.probability:.3f}）"
        if self.decision == DecisionKind.REVIEW and len(self.candidates) > 1:
            text += f"；另有 {len(self.candidates) - 1} 个候选，需人工确认"
        return text


def clean(raw: dict[str, Any]) -> dict[str, str]:
    """Only the known fields, as text, trimmed and capped: a record is evidence, never instructions."""
    return {f: str(raw.get(f) or "").replace("\x00", "").strip()[:MAX_FIELD] for f in FIELDS}


def fingerprint(raw: dict[str, str]) -> str:
    """Names the record as given, so a person's decision about it applies when it comes again."""
    text = json.dumps([raw.get(f, "") for f in FIELDS], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# The model


DEFAULT_NOTE = "默认参数（未训练）"


def active_model() -> LinkageModel:
    model = LinkageModel.objects.first()
    if model is None:
        model = LinkageModel.objects.create(params=default_model().to_json(), note=DEFAULT_NOTE)
    return model


def default_model() -> Model:
    return Model(
        "person",
        dict(schema_module.DEFAULT_M),
        dict(schema_module.DEFAULT_U),
        schema_module.DEFAULT_PRIOR,
    )


def current_params(params: dict[str, Any]) -> dict[str, Any]:
    """A model trained before a comparison gained a level (the phone's 同户家人的电话) uses that
    comparison's starting values until the county trains again; every other comparison keeps its own."""
    m, u = dict(params["m"]), dict(params["u"])
    for comparison in schema_module.COMPARISONS:
        name, levels = comparison.name, len(comparison.levels)
        if len(m.get(name, ())) != levels or len(u.get(name, ())) != levels:
            m[name], u[name] = list(schema_module.DEFAULT_M[name]), list(schema_module.DEFAULT_U[name])
    return {**params, "m": m, "u": u}


def set_thresholds(actor: Actor, match: float, review: float) -> LinkageModel:
    """A county admin's thresholds become a new version with the same parameters."""
    require(actor, Cap.LINKAGE_SETTINGS)
    if not (0 < review < match <= 1):
        raise ValueError("阈值须满足 0 < 人工审核阈值 < 自动认定阈值 ≤ 1")
    current = active_model()
    model = LinkageModel.objects.create(
        params=current.params,
        match_threshold=match,
        review_threshold=review,
        note=f"阈值调整：自动认定 {match:g}，人工审核 {review:g}",
        created_by=actor.user.get_username(),
    )
    record(actor, "linkage_thresholds", "linkage_model", str(model.pk), detail=model.note)
    return model


# ---------------------------------------------------------------------------------------------
# Village aliases: the names people use for villages, kept by the county


ALIAS_TEXT = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134fA-Za-z0-9]{2,30}")


def aliases(actor: Actor) -> list[VillageAlias]:
    """The county's aliases, each with its village's name."""
    require(actor, Cap.LINKAGE_SETTINGS)
    county = (actor.user.region_id or "")[:6]
    found = list(VillageAlias.objects.filter(region_code__startswith=county))
    names = regions.names([a.region_code for a in found])
    for alias in found:
        alias.village_name = names.get(alias.region_code, alias.region_code)  # type: ignore[attr-defined]
    return found


def _alias_problem(alias: str, village: str, county: str) -> str:
    if not ALIAS_TEXT.fullmatch(alias):
        return f"别名“{alias[:30]}”应为 2 至 30 个汉字、字母或数字"
    if not (village.startswith(county) and Region.objects.filter(code=village, level=Level.VILLAGE).exists()):
        return f"{village[:12]} 不是本县的村（社区）代码"
    return ""


def add_alias(actor: Actor, alias: str, village: str) -> VillageAlias:
    require(actor, Cap.LINKAGE_SETTINGS)
    alias, village = unicodedata.normalize("NFKC", alias).strip(), village.strip()
    problem = _alias_problem(alias, village, (actor.user.region_id or "")[:6])
    if problem:
        raise ValueError(problem)
    found, _ = VillageAlias.objects.get_or_create(
        alias=alias, region_code=village, defaults={"created_by": actor.user.get_username()}
    )
    record(actor, "add", "village_alias", str(found.pk), region_code=village, detail=f"{alias} -> {village}")
    return found


def remove_alias(actor: Actor, alias_id: int) -> bool:
    require(actor, Cap.LINKAGE_SETTINGS)
    county = (actor.user.region_id or "")[:6]
    found = VillageAlias.objects.filter(pk=alias_id, region_code__startswith=county).first()
    if found is None:
        return False
    found.delete()
    record(actor, "remove", "village_alias", str(alias_id), region_code=found.region_code, detail=found.alias)
    return True


@dataclass(frozen=True)
class AliasSuggestion:
    alias: str
    region_code: str
    village_name: str
    confirmations: int  # reviews confirming a person of this village whose record named it so


def suggested_aliases(actor: Actor, least: int = 2) -> list[AliasSuggestion]:
    """Learned from the county's own decisions: when staff confirm a person of a village for a record
    whose address text named that village in a way the resolver could not read, the name is a candidate
    alias. Suggested once `least` confirmations agree; the administrator adds it (or not)."""
    require(actor, Cap.LINKAGE_SETTINGS)
    county = (actor.user.region_id or "")[:6]
    resolver = AddressResolver.cached(county)
    confirmed = Review.objects.filter(status=Review.Status.CONFIRMED, region_code__startswith=county)
    villages = dict(
        Person.objects.filter(id_number__in=confirmed.values("id_number")).values_list(
            "id_number", "household__region_code"
        )
    )
    known = set(
        VillageAlias.objects.filter(region_code__startswith=county).values_list("alias", "region_code")
    )
    counts: dict[tuple[str, str], int] = {}
    for given, id_number in confirmed.values_list("record", "id_number").iterator(chunk_size=2000):
        village = villages.get(id_number, "")
        text = str(given.get("address_text") or "") if isinstance(given, dict) else ""
        said = resolver.unread_name(text, village) if village and text else ""
        if said and (said, village) not in known:
            counts[(said, village)] = counts.get((said, village), 0) + 1
    names = regions.names([v for _, v in counts])
    found = [
        AliasSuggestion(alias, village, names.get(village, village), n)
        for (alias, village), n in counts.items()
        if n >= least
    ]
    return sorted(found, key=lambda a: (-a.confirmations, a.region_code, a.alias))


def replace_aliases(rows: Sequence[tuple[str, str]], by: str = "") -> int:
    """The whole alias table from a county's file (`safetynet linkage aliases FILE`): all or nothing."""
    cleaned = [(unicodedata.normalize("NFKC", a).strip(), v.strip()) for a, v in rows]
    problems = [
        f"第 {i} 行：{p}" for i, (a, v) in enumerate(cleaned, 2) if (p := _alias_problem(a, v, v[:6]))
    ]
    if problems:
        raise ValueError("；".join(problems[:20]))
    with transaction.atomic():
        VillageAlias.objects.all().delete()
        VillageAlias.objects.bulk_create(
            [VillageAlias(alias=a, region_code=v, created_by=by[:150]) for a, v in dict.fromkeys(cleaned)]
        )
    return VillageAlias.objects.count()


# ---------------------------------------------------------------------------------------------
# The index


REGISTRY_FIELDS = (
    "id_number",
    "name",
    "gender",
    "birth_date",
    "phone",
    "household_id",
    "household__region_code",
)
# An import that changes more of the registry than this share (and than REBUILD_MIN persons: re-filing ten
# thousand is quick) rebuilds the index whole, which is faster in bulk.
REBUILD_SHARE = 0.3
REBUILD_MIN = 10_000


def _registry_raw(id_numbers: Iterable[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """Each person's fields (REGISTRY_FIELDS), then the phones of the rest of their household: a caller
    often gives a son's or a daughter's number, which is evidence for the parent too."""
    if id_numbers is not None:
        # A bounded list (a batch's candidates) is read in one statement per 5,000, without the ORM: at
        # 1,000,000 persons building and converting the IN lists took longer than running them.
        wanted = sorted(set(id_numbers))
        for start in range(0, len(wanted), 5000):
            yield from _with_household_phones(_persons_by_id(wanted[start : start + 5000]))
        return
    rows = Person.objects.values_list(*REGISTRY_FIELDS).order_by()
    chunk: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=5000):  # the whole registry (index rebuild, training) streams
        chunk.append(row)
        if len(chunk) == 5000:
            yield from _with_household_phones(chunk)
            chunk = []
    yield from _with_household_phones(chunk)


def _one_of(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    """`column` is one of `values`, bound as one parameter: PostgreSQL takes an array, SQLite a JSON array
    (one value per placeholder would pass SQLite's limit of 32,766)."""
    if connection.vendor == "postgresql":
        # Not `= ANY(%s)`: PostgreSQL 15 plans that as a filter over the whole index or table (1 s for
        # 5,000 keys at 1,000,000 persons); a set to join is probed through the index (0.08 s).
        return f"{column} IN (SELECT unnest(%s::varchar[]))", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]  # noqa: S608


def _persons_by_id(id_numbers: Sequence[str]) -> list[tuple[Any, ...]]:
    """REGISTRY_FIELDS of these persons, as the ORM's values_list would give them."""
    person, household = Person._meta.db_table, Household._meta.db_table
    where, params = _one_of("p.id_number", id_numbers)
    # Table and column names from code; the values are one parameter.
    columns = "p.id_number, p.name, p.gender, p.birth_date, p.phone, p.household_id, h.region_code"
    joined = f"{person} p JOIN {household} h ON h.household_id = p.household_id"
    sql = f"SELECT {columns} FROM {joined} WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows and isinstance(rows[0][3], str):  # SQLite returns dates as text to a raw cursor
        return [(*r[:3], dt.date.fromisoformat(r[3]), *r[4:]) for r in rows]
    return rows


def _with_household_phones(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    phones: dict[str, list[tuple[str, str]]] = {}
    households = sorted({row[5] for row in rows})
    for start in range(0, len(households), 5000):
        where, params = _one_of("household_id", households[start : start + 5000])
        with connection.cursor() as cursor:
            table = Person._meta.db_table
            sql = f"SELECT household_id, id_number, phone FROM {table} WHERE {where} AND phone <> ''"  # noqa: S608
            cursor.execute(sql, params)
            for household, id_number, phone in cursor.fetchall():
                phones.setdefault(household, []).append((id_number, phone))
    for row in rows:
        others = sorted({phone for id_number, phone in phones.get(row[5], ()) if id_number != row[0]})
        yield (*row, tuple(others))


def registry_rows(id_numbers: Iterable[str] | None = None) -> Iterator[PersonRecord]:
    for row in _registry_raw(id_numbers):
        yield registry_record(*row)


# Raise when `registry_keys` files people differently: every digest changes, so the next import re-files all.
KEYS_VERSION = 3


def _digest(row: tuple[Any, ...]) -> str:
    """Of the fields a person's keys are made from (and of how keys are made): the same digest, the same
    keys."""
    return hashlib.blake2b("\x1f".join(map(str, (KEYS_VERSION, *row))).encode(), digest_size=16).hexdigest()


def _keys_of(row: tuple[Any, ...]) -> list[tuple[str, str, str]]:
    person = registry_record(*row)
    return [
        (key[:80], person.id_number, person.region_code)
        for key in dict.fromkeys(schema_module.registry_keys(person))
    ]


def rebuild_index() -> int:
    """The blocking keys of every registry person, replaced in one transaction; returns the key count."""
    batch: list[tuple[str, str, str]] = []
    digests: list[tuple[str, str]] = []
    total = 0
    with transaction.atomic():
        PersonKey.objects.all().delete()
        IndexedPerson.objects.all().delete()
        for row in _registry_raw():
            batch.extend(_keys_of(row))
            digests.append((row[0], _digest(row)))
            if len(batch) >= 50_000:
                total += _write_keys(batch)
                _write_digests(digests)
                batch, digests = [], []
        total += _write_keys(batch)
        _write_digests(digests)
    _organise(PersonKey._meta.db_table, cluster=True)
    return total


@dataclass
class IndexUpdate:
    added_or_changed: int
    removed: int
    rebuilt: bool


def update_index() -> IndexUpdate:
    """After an import: re-file the persons it added or changed and drop those it removed, comparing each
    person's digest with the one their keys were made from. The first time (nothing stored yet), or when
    most of the registry changed, the whole index is rebuilt instead (faster in bulk)."""
    stored = dict(
        IndexedPerson.objects.values_list("id_number", "digest").order_by().iterator(chunk_size=20_000)
    )
    if not stored:
        rebuild_index()
        return IndexUpdate(Person.objects.count(), 0, True)
    changed: dict[str, str] = {}
    seen = 0
    for row in _registry_raw():
        seen += 1
        digest = _digest(row)
        if stored.pop(row[0], None) != digest:
            changed[row[0]] = digest
    removed = list(stored)  # indexed once, no longer in the registry
    if len(changed) + len(removed) > max(REBUILD_SHARE * seen, REBUILD_MIN):
        rebuild_index()
        return IndexUpdate(len(changed), len(removed), True)
    with transaction.atomic():
        gone = sorted({*changed, *removed})
        for start in range(0, len(gone), 5000):
            PersonKey.objects.filter(id_number__in=gone[start : start + 5000]).delete()
            IndexedPerson.objects.filter(id_number__in=gone[start : start + 5000]).delete()
        batch: list[tuple[str, str, str]] = []
        for row in _registry_raw(changed) if changed else ():
            batch.extend(_keys_of(row))
        _write_keys(batch)
        _write_digests(list(changed.items()))
    if changed or removed:
        _organise(PersonKey._meta.db_table, cluster=False)
    return IndexUpdate(len(changed), len(removed), False)


def _organise(table: str, cluster: bool) -> None:
    # Rows of one key side by side (PostgreSQL: a probe reads one page, not thirty scattered ones;
    # measured 11x faster at 1,000,000 persons), and fresh statistics: planned on the empty table's, a
    # lookup of a few thousand keys becomes a scan of millions of rows.
    with connection.cursor() as cursor:
        if cluster and connection.vendor == "postgresql":
            cursor.execute(f"CLUSTER {table} USING linkage_key_region")
        cursor.execute(f"ANALYZE {table}")


def _write_digests(rows: list[tuple[str, str]]) -> None:
    IndexedPerson.objects.bulk_create([IndexedPerson(id_number=i, digest=d) for i, d in rows], 5000)


READING_ALIKE_MAX = 200  # more people than this reading alike is a common name: the text search serves


def persons_reading_like(name: str, low: str, high: str) -> list[str]:
    """ID numbers of registry persons in the region range whose whole name has a reading of `name`'s
    (the index's sound keys, then the exact toneless readings compared: no accent folding here). A
    character pypinyin cannot read stands for itself, so it matches only itself."""
    cleaned = chinese.clean_name(name)
    if not cleaned:
        return []
    keys = [f"f:{sound}"[:80] for sound in chinese.fuzzy_spellings(cleaned)]
    candidates = list(
        PersonKey.objects.filter(key__in=keys, region_code__gte=low, region_code__lte=high)
        .values_list("id_number", flat=True)
        .distinct()[: READING_ALIKE_MAX + 1]
    )
    if not candidates or len(candidates) > READING_ALIKE_MAX:
        return []
    wanted = set(chinese.spellings(cleaned))
    names = Person.objects.filter(id_number__in=candidates).values_list("id_number", "name")
    return [i for i, n in names if wanted & set(chinese.spellings(chinese.clean_name(n)))]


def _write_keys(rows: list[tuple[str, str, str]]) -> int:
    if not rows:
        return 0
    table = PersonKey._meta.db_table
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} (key, id_number, region_code) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        PersonKey.objects.bulk_create(
            [PersonKey(key=k, id_number=i, region_code=r) for k, i, r in rows], 5000
        )
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Linking

READ_AHEAD_CHUNKS = 3  # a batch of this many chunks or more reads ahead on a second connection
MAX_PERSONS = 200_000  # registry persons a linker keeps in memory before it starts afresh


@dataclass
class _Chunk:
    prints: list[str]
    prepared: list[PersonRecord | InvalidRecord]
    keys_of: list[list[str]]


@dataclass
class _Fetched:
    decisions: dict[str, dict[str, bool]]
    blocks: dict[str, list[str]]
    rows: list[tuple[Any, ...]]  # _registry_raw's
    forget: bool  # the cache was emptied before these rows: drop what was kept


@dataclass
class Linker:
    """Links records against the registry within a region range (the whole registry when None)."""

    as_of: dt.date = field(default_factory=dt.date.today)
    scope: tuple[str, str] | None = None
    limit: int = 5
    model: LinkageModel = field(default_factory=active_model)

    def __post_init__(self) -> None:
        prefix = ""
        if self.scope is not None:
            prefix = _common_prefix(*self.scope)
        self.resolver = AddressResolver.cached(prefix)
        self.schema = person_schema(self.as_of, self.resolver, _tails_by_surname())
        self.scorer = Scorer(self.schema, Model.from_json(current_params(self.model.params)))
        self._persons: dict[str, PersonRecord] = {}
        self._read_ids: set[str] = set()  # every person whose row was read (in scope or not)
        # Where a comparison's first level means the whole ID number or the phone is this person's.
        self._exact = [
            (i, c.name) for i, c in enumerate(self.schema.comparisons) if c.name in ("id_number", "phone")
        ]

    @classmethod
    def for_scope(cls, scope: PersonalDataScope, **kwargs: Any) -> Linker:
        return cls(scope=(scope.low, scope.high), **kwargs)

    def link(self, raw: dict[str, Any]) -> Result:
        return self.link_many([raw])[0]

    def link_many(self, raws: Sequence[dict[str, Any]]) -> list[Result]:
        chunks = [raws[start : start + QUERY_CHUNK] for start in range(0, len(raws), QUERY_CHUNK)]
        if len(chunks) >= READ_AHEAD_CHUNKS and not connection.in_atomic_block:
            return self._link_reading_ahead(chunks)
        # Short, or inside a transaction whose rows another connection could not see: in turn.
        results: list[Result] = []
        for chunk in chunks:
            prepared = self._prepare(chunk)
            results.extend(self._finish(prepared, self._fetch(prepared)))
        return results

    def _link_reading_ahead(self, chunks: list[Sequence[dict[str, Any]]]) -> list[Result]:
        """A long batch reads the next chunk's candidates on a second connection while this chunk is
        compared: the database works on one core while Python works on the other. The reader keeps the
        chunks' order, so the cache of persons read is filled as it would be in turn."""
        results: list[Result] = []
        # A long batch makes millions of short-lived objects and keeps a cache of a hundred thousand
        # persons: the cycle collector's passes over that cache took a sixth of the time (measured), and
        # refcounting frees everything the batch drops. The collector runs again when the batch ends.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkage-read") as reader:
                try:
                    waiting: list[tuple[_Chunk, Future[_Fetched]]] = []
                    for chunk in chunks:
                        prepared = self._prepare(chunk)
                        waiting.append((prepared, reader.submit(self._fetch, prepared)))
                        if len(waiting) == 2:
                            done, fetching = waiting.pop(0)
                            results.extend(self._finish(done, fetching.result()))
                    for done, fetching in waiting:
                        results.extend(self._finish(done, fetching.result()))
                finally:
                    reader.submit(_close_connection).result()
        finally:
            if collecting:
                gc.enable()
        return results

    def prepare(self, raw: dict[str, str]) -> PersonRecord:
        return self.schema.prepare(raw)

    def candidates(
        self, queries: Sequence[PersonRecord], also: Iterable[str] = ()
    ) -> list[list[PersonRecord]]:
        """The registry persons each query's blocking keys find, in scope; `also` loads more by ID."""
        keys_of = [self.schema.lookup_keys(q) for q in queries]
        blocks = self._read(keys_of, also)
        return [self._found(keys, blocks) for keys in keys_of]

    def _prepare(self, raws: Sequence[dict[str, Any]]) -> _Chunk:
        """What needs no database: the records read, and the keys to look up."""
        cleaned = [clean(r) for r in raws]
        prepared: list[PersonRecord | InvalidRecord] = []
        for raw in cleaned:
            try:
                prepared.append(self.prepare(raw))
            except InvalidRecord as exc:
                prepared.append(exc)
        keys_of = [self.schema.lookup_keys(q) if isinstance(q, PersonRecord) else [] for q in prepared]
        return _Chunk([fingerprint(raw) for raw in cleaned], prepared, keys_of)

    def _fetch(self, chunk: _Chunk, also: Iterable[str] = ()) -> _Fetched:
        """What the chunk needs from the database: earlier human decisions on its records, the blocks of
        its keys, and the registry rows of candidates (and of `also`) not read before."""
        decisions = _decisions(chunk.prints)
        also = {*also, *(i for d in decisions.values() for i, same in d.items() if same)}
        keys = {k for keys in chunk.keys_of for k in keys}
        blocks = self._blocks(keys)
        wanted = {i for k in keys for i in blocks.get(k, ())} | also
        forget = len(self._read_ids) > MAX_PERSONS  # a long batch: keep memory flat
        if forget:
            self._read_ids = set()
        missing = sorted(wanted - self._read_ids)
        self._read_ids.update(missing)
        return _Fetched(decisions, blocks, list(_registry_raw(missing)) if missing else [], forget)

    def _read(self, keys_of: list[list[str]], also: Iterable[str]) -> dict[str, list[str]]:
        """The blocks of these keys, their persons (and `also`) read into the cache."""
        fetched = self._fetch(_Chunk([], [], keys_of), also)
        self._take(fetched)
        return fetched.blocks

    def _take(self, fetched: _Fetched) -> None:
        if fetched.forget:
            self._persons = {}
        for row in fetched.rows:
            person = registry_record(*row)
            if self.scope is None or self.scope[0] <= person.region_code <= self.scope[1]:
                self._persons[person.id_number] = person

    def _found(self, keys: list[str], blocks: dict[str, list[str]]) -> list[PersonRecord]:
        ids = {i for k in keys for i in blocks.get(k, ())}
        return [self._persons[i] for i in sorted(ids) if i in self._persons]

    def _finish(self, chunk: _Chunk, fetched: _Fetched) -> list[Result]:
        self._take(fetched)
        results = []
        for query, keys, print_ in zip(chunk.prepared, chunk.keys_of, chunk.prints, strict=True):
            if isinstance(query, InvalidRecord):
                results.append(Result(DecisionKind.UNKNOWN, [], print_, error=str(query)))
                continue
            found = self._found(keys, fetched.blocks)
            results.append(self._decide(query, found, fetched.decisions.get(print_, {}), print_))
        return results

    def _blocks(self, keys: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 5000):
            where, params = _one_of("key", ordered[start : start + 5000])
            if self.scope is not None:
                where += " AND region_code >= %s AND region_code <= %s"
                params += list(self.scope)
            with connection.cursor() as cursor:
                table = PersonKey._meta.db_table
                cursor.execute(f"SELECT key, id_number FROM {table} WHERE {where}", params)  # noqa: S608
                for key, id_number in cursor.fetchall():
                    found.setdefault(key, []).append(id_number)
        return {k: v for k, v in found.items() if len(v) <= MAX_BLOCK}

    def _decide(
        self, query: PersonRecord, found: list[PersonRecord], decided: dict[str, bool], print_: str
    ) -> Result:
        confirmed = [self._persons[i] for i, same in decided.items() if same and i in self._persons]
        persons = [
            p
            for p in {p.id_number: p for p in [*found, *confirmed]}.values()
            if decided.get(p.id_number) is not False
        ]
        vectors = [self.schema.vector(query, person) for person in persons]
        probabilities = among_candidates([self.scorer.weight(v) for v in vectors])
        for k, person in enumerate(persons):
            if decided.get(person.id_number):
                probabilities[k] = 1.0  # a person's decision counts as certain
        order = sorted(range(len(persons)), key=lambda k: (-probabilities[k], persons[k].id_number))
        # Whom the record's own ID number or phone points to is always shown, however the name was said;
        # only the candidates shown are explained (a clan village's forty namesakes need not be).
        shown = order[: self.limit] + [k for k in order[self.limit :] if self._exact_field(vectors[k])]
        top = [self._candidate(persons[k], vectors[k], probabilities[k], decided) for k in shown]
        decision = DecisionKind.UNKNOWN
        if top and top[0].probability >= self.model.match_threshold:  # a person's decision counts as 1.0
            decision = DecisionKind.MATCH
        elif persons and sum(probabilities) >= self.model.review_threshold:
            # Probably someone registered, but not clearly this one (namesakes in one village): a person
            # decides.
            decision = DecisionKind.REVIEW
        elif any(c.exact for c in top):  # a whole ID number or phone of a registered person: a person looks
            decision = DecisionKind.REVIEW
        return Result(decision, top, print_, query.place_how)

    def _exact_field(self, vector: Sequence[int]) -> str:
        return next((name for i, name in self._exact if vector[i] == 0), "")

    def _candidate(
        self, person: PersonRecord, vector: list[int], probability: float, decided: dict[str, bool]
    ) -> Candidate:
        return Candidate(
            person.id_number,
            person.name,
            person.gender,
            person.birth,  # type: ignore[arg-type]
            person.household_id,
            person.region_code,
            probability,
            self.scorer.explain(vector),
            decided_by_person=bool(decided.get(person.id_number)),
            exact=self._exact_field(vector),
        )


def _tails_by_surname() -> bool:
    """Whether the index files ID tails under surnames (keys version 3). One filed before, until an import
    or `safetynet linkage index` files it again, is read by the plain tails it has."""
    # Any row, unordered: by primary key, PostgreSQL first walks past a rebuild's deleted rows.
    anyone = next(iter(PersonKey.objects.values_list("id_number", flat=True).order_by()[:1]), None)
    # One person's dozen keys, found by the person's index: no scan of the key index by prefix.
    return anyone is None or PersonKey.objects.filter(id_number=anyone, key__startswith="u:").exists()


def _close_connection() -> None:
    """Run in a reader thread: `connection` is the thread's own, opened by its first query."""
    connection.close()


def among_candidates(weights: Sequence[float]) -> list[float]:
    """Each candidate's probability of being the person, judged against the others: a record is one
    registered person or none, so the pairwise odds 2^w (each already holding the prior) are normalised
    together with the chance that it is nobody here: P(i) = 2^w_i / (1 + sum_j 2^w_j). Two namesakes who
    both agree on everything given share the probability (neither is decided alone); one who also agrees
    on a phone or a birth date the other lacks takes nearly all of it. Computed in log space: weights of
    several hundred bits would overflow."""
    if not weights:
        return []
    top = max(0.0, *weights)
    total = 2.0 ** (-top) + sum(2.0 ** (w - top) for w in weights)
    return [2.0 ** (w - top) / total for w in weights]


def _common_prefix(low: str, high: str) -> str:
    prefix = ""
    for a, b in zip(low, high, strict=False):
        if a != b:
            break
        prefix += a
    return prefix


def _decisions(prints: list[str]) -> dict[str, dict[str, bool]]:
    found: dict[str, dict[str, bool]] = {}
    rows = Decision.objects.filter(fingerprint__in=set(prints)).order_by("decided_at", "id")
    for print_, id_number, same in rows.values_list("fingerprint", "id_number", "same"):
        found.setdefault(print_, {})[id_number] = same  # the latest decision wins
    return found


# ---------------------------------------------------------------------------------------------
# Online lookup, for people


def lookup(actor: Actor, raw: dict[str, Any], limit: int = 5, as_of: dt.date | None = None) -> Result:
    """Candidates for a form as the user types: within the caller's region, audited, masked by role."""
    require(actor, Cap.LOOKUP)
    ratelimit.check(actor, "lookup")
    scope = PersonalDataScope(actor)
    linker = Linker.for_scope(scope, limit=min(max(limit, 1), 20), as_of=as_of or dt.date.today())
    result = linker.link(raw)
    # Whom was asked about, hashed (the ID typed, else the best candidate): never whole numbers in the trail.
    asked = str(raw.get("id_number") or "") or (result.best.id_number if result.best else "")
    scope.audit_read(
        "linkage_lookup", "", scope.region_code, detail=f"{len(result.candidates)} 个候选", subject=asked
    )
    return result


def known_to_us(actor: Actor, raw: dict[str, Any]) -> bool:
    """For a social organisation: whether the registry knows this person, and nothing else."""
    require(actor, Cap.LOOKUP)
    ratelimit.check(actor, "known")
    user = actor.user
    if user.region_id is None:
        raise PermissionDenied("user is bound to no region")
    low, high = regions.subtree_range(user.region_id, user.region.level)  # type: ignore[union-attr]
    result = Linker(scope=(low, high), limit=2).link(raw)
    # A whole ID number of someone registered here is known, however the name was written.
    known = result.decision == DecisionKind.MATCH or any(c.exact == "id_number" for c in result.candidates)
    asked = str(raw.get("id_number") or raw.get("phone") or raw.get("name") or "")
    record(
        actor,
        "linkage_known",
        "linkage_lookup",
        "",
        region_code=user.region_id,
        detail=str(known),
        subject=asked,
    )
    return known


# ---------------------------------------------------------------------------------------------
# Reviews


def queue_reviews(source: str, items: Iterable[tuple[str, dict[str, Any], Result]]) -> int:
    """Uncertain results wait for a person; each source record is queued once."""
    created = 0
    for ref, raw, result in items:
        if result.decision != DecisionKind.REVIEW or result.best is None:
            continue
        _, made = Review.objects.get_or_create(
            source=source,
            source_ref=ref[:120],
            defaults={
                "fingerprint": result.fingerprint,
                "record": clean(raw),
                "candidates": [
                    {
                        "id_number": c.id_number,
                        "household_id": c.household_id,
                        "probability": round(c.probability, 4),
                        "explanation": c.text,
                    }
                    for c in result.candidates
                ],
                "region_code": result.best.region_code,
            },
        )
        created += made
    return created


class Conflict(Exception):
    """Someone else decided this review first."""


def pending_reviews(actor: Actor, limit: int = 100) -> list[Review]:
    scope = PersonalDataScope(actor)
    rows = scope.restrict(Review.objects.filter(status=Review.Status.PENDING), "region_code")
    found = list(rows.order_by("id")[:limit])
    if found:
        scope.audit_read("linkage_reviews", "", scope.region_code, detail=f"{len(found)} 条待审核")
    return found


def get_review(actor: Actor, review_id: int) -> Review | None:
    scope = PersonalDataScope(actor)
    review = scope.restrict(Review.objects.all(), "region_code").filter(pk=review_id).first()
    if review is not None:
        scope.audit_read("linkage_review", str(review.pk), review.region_code)
    return review


def decide_review(actor: Actor, review_id: int, version: int, id_number: str | None) -> Review:
    """Confirm one candidate (id_number) or reject them all (None). Kept as decisions the linker obeys."""
    require(actor, Cap.DECIDE_REVIEWS)
    scope = PersonalDataScope(actor)
    with transaction.atomic():
        review = (
            scope.restrict(Review.objects.select_for_update(), "region_code").filter(pk=review_id).first()
        )
        if review is None:
            raise PermissionDenied("no such review in your region")
        if review.version != version or review.status != Review.Status.PENDING:
            raise Conflict("该记录已由他人处理，请刷新后查看结果")
        offered = [c["id_number"] for c in review.candidates]
        if id_number is not None and id_number not in offered:
            raise ValueError("所选人员不在候选名单中")
        review.status = Review.Status.CONFIRMED if id_number else Review.Status.REJECTED
        review.id_number = id_number or ""
        review.decided_by = actor.user
        review.decided_at = timezone.now()
        review.version += 1
        review.save()
        for candidate in offered:
            if id_number is None or candidate == id_number:
                Decision.objects.create(
                    fingerprint=review.fingerprint,
                    id_number=candidate,
                    same=candidate == id_number,
                    review=review,
                    decided_by=actor.user,
                )
        record(
            actor,
            "linkage_review",
            "linkage_review",
            str(review.pk),
            region_code=review.region_code,
            detail=f"{review.status} {scope.mask_id(review.id_number)}",
        )
    return review


# ---------------------------------------------------------------------------------------------
# Training


@dataclass
class Training:
    model: LinkageModel
    records: int
    pairs: int
    u_pairs: int


def train(
    records: Sequence[dict[str, Any]],
    *,
    as_of: dt.date | None = None,
    u_pairs: int = 200_000,
    sample: int = 50_000,
    note: str = "",
    created_by: str = "",
) -> Training:
    """u from random registry pairs, m and the prior by EM over the records' blocked candidate pairs.

    The records need no labels: EM finds the matches' pattern itself, as Splink does.
    """
    linker = Linker(as_of=as_of or dt.date.today())
    ids = list(Person.objects.values_list("id_number", flat=True).order_by("id_number"))
    if len(ids) < 2:
        raise ValueError("登记库人数太少，无法估计参数")
    chosen = random.Random(11).sample(ids, min(sample, len(ids)))
    # In one order whatever the database returns: the same registry trains the same model.
    reference = sorted(registry_rows(chosen), key=lambda p: p.id_number)
    vectors: list[list[int]] = []
    every_query: list[PersonRecord] = []
    for start in range(0, len(records), QUERY_CHUNK):
        queries = []
        for raw in records[start : start + QUERY_CHUNK]:
            try:
                queries.append(linker.prepare(clean(raw)))
            except InvalidRecord:
                continue
        every_query.extend(queries)
        for query, persons in zip(queries, linker.candidates(queries), strict=True):
            vectors.extend(linker.schema.vector(query, person) for person in persons)
    if not vectors:
        raise ValueError("训练记录在登记库中没有任何候选，无法估计参数")
    u = estimate_u(linker.schema, every_query, reference, u_pairs)
    array = np.array(vectors, dtype=np.int64)
    fitted = fit(linker.schema, array, u, default_model(), float(len(every_query)) * len(ids))
    fitted.trained_on = {
        "records": len(records),
        "pairs": len(vectors),
        "u_pairs": u_pairs,
        "persons": len(ids),
    }
    current = active_model()
    model = LinkageModel.objects.create(
        params=fitted.to_json(),
        match_threshold=current.match_threshold,
        review_threshold=current.review_threshold,
        note=note or f"训练：{len(records)} 条记录，{len(vectors)} 对候选",
        created_by=created_by,
    )
    return Training(model, len(records), len(vectors), u_pairs)
