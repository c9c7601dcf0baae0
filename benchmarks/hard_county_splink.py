"""Splink 5 baseline on the hard county set of benchmarks/hard_county.py: leads.csv against persons.csv.

A probabilistic (Fellegi-Sunter) linkage with Splink's DuckDB backend, link_only, trained without labels:
u by random sampling, m by expectation maximisation, the prior from two near-deterministic rules. The
comparisons are the best this script can give it:

- name: exact (term-frequency adjusted) / same pinyin (homophones, 刘/柳) / Jaro-Winkler of the pinyin /
  same given name under another surname / same surname and one given name inside the other / else;
- birth: exact date / day and month swapped / same birth year (from the date, or 2026 minus the age) /
  within 1, 2, 5 years / else;
- phone: exact on the last 11 digits after removing +86, 0086, spaces, dashes and brackets;
- ID number: whole and equal / whole within one edit (a mistyped or transposed digit) / last 6 equal /
  last 4 equal (fragments and masked numbers) / else;
- gender; place: village code / same village name in another township (names repeat) / township code.
  A lead's place comes from its region_code and from its address_text, read against the region tree by
  pinyin (so 大柳数村 and 马级镇 resolve) and, unless --no-aliases, village_aliases.csv.

Blocking (for recall): phone; ID last 4; pinyin of the name; given-name pinyin + village; surname pinyin
+ village; surname pinyin + birth year. Each lead takes its best-scoring registry candidate; it is
"matched" when that candidate's match_probability reaches the threshold. Scored against leads_truth.csv:
precision, recall and F1 at 0.95, the best F1 over thresholds, and the share of not-registered leads
matched to someone.

    .venv/bin/pip install splink pypinyin      # benchmark-only tools, not dependencies
    .venv/bin/python benchmarks/hard_county_splink.py --dir /tmp/hard200k

The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from pypinyin import lazy_pinyin
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

AS_OF = dt.date(2026, 12, 1)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "东方", "上官", "皇甫", "令狐", "慕容", "司徒", "夏侯")

_py_cache: dict[str, str] = {}


def py(text: str) -> str:
    """Toneless pinyin, syllables joined by spaces (so Jaro-Winkler sees syllable boundaries)."""
    if text not in _py_cache:
        _py_cache[text] = " ".join(lazy_pinyin(text)) if text else ""
    return _py_cache[text]


def split_name(name: str) -> tuple[str, str]:
    if name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def parse_date(text: str) -> dt.date | None:
    t = text.strip()
    m = re.fullmatch(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?", t) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", t
    )
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def norm_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[-11:] if len(digits) >= 11 and digits[-11] == "1" else digits


class Places:
    """Villages and townships, found in free text by pinyin (homophone typos included)."""

    def __init__(self, folder: Path, use_aliases: bool):
        self.village_town: dict[str, str] = {}
        self.village_name: dict[str, str] = {}
        forms: list[tuple[str, str, str]] = []  # (pinyin with spaces, kind, code)
        with (folder / "regions.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                code, name, level = row["code"], row["name"], row["level"]
                if level == "village":
                    self.village_town[code] = row["parent_code"]
                    self.village_name[code] = name
                    for form in {name, name.removesuffix("村"), name.removesuffix("社区")}:
                        if len(form) >= 2:
                            forms.append((py(form), "village", code))
                elif level == "township":
                    for form in {name, re.sub(r"(镇|乡|街道)$", "", name)}:
                        if len(form) >= 2:
                            forms.append((py(form), "township", code))
        if use_aliases and (folder / "village_aliases.csv").exists():
            with (folder / "village_aliases.csv").open(encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    forms.append((py(row["alias"]), "village", row["region_code"]))
        self.forms = sorted(set(forms), key=lambda t: -len(t[0]))

    def resolve(self, region_code: str, text: str) -> tuple[str, str, str]:
        """(village code, township code, village name pinyin), each possibly empty."""
        village = town = vname = ""
        rc = region_code.strip()
        if re.fullmatch(r"\d{12}", rc):
            if rc[9:] != "000":
                village, town = rc, rc[:9] + "000"
            elif rc[6:9] != "000":
                town = rc
        text = re.sub(r"\s", "", text)
        if text:
            hay = f" {py(text)} "
            villages: list[str] = []
            best_len = 0
            for form, kind, code in self.forms:
                if f" {form} " not in hay:
                    continue
                if kind == "township":
                    town = town or code
                elif len(form) >= best_len:
                    best_len = len(form)
                    villages.append(code)
            if town:
                villages = [v for v in villages if self.village_town[v] == town] or villages
            if villages and not village:
                names = {py(self.village_name[v].removesuffix("村")) for v in villages}
                if len(set(villages)) == 1:
                    village = villages[0]
                    town = town or self.village_town[village]
                if len(names) == 1:
                    vname = names.pop()
        if village and not vname:
            vname = py(self.village_name.get(village, "").removesuffix("村"))
        return village, town, vname


FIELDS = (
    "unique_id",
    "name",
    "name_py",
    "surname_py",
    "given_py",
    "birth_date",
    "birth_year",
    "gender",
    "phone",
    "id_full",
    "id_last4",
    "id_last6",
    "village_code",
    "town_code",
    "village_py",
)


def prepare(folder: Path, work: Path, use_aliases: bool) -> tuple[Path, Path]:
    places = Places(folder, use_aliases)
    hh_region: dict[str, str] = {}
    with (folder / "households.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            hh_region[row["household_id"]] = row["region_code"]
    reg_path, lead_path = work / "registry.csv", work / "leads.csv"
    with (
        (folder / "persons.csv").open(encoding="utf-8") as f,
        reg_path.open("w", newline="", encoding="utf-8") as g,
    ):
        w = csv.writer(g)
        w.writerow(FIELDS)
        for row in csv.DictReader(f):
            name = row["name"]
            s, given = split_name(name)
            v = hh_region[row["household_id"]]
            idn = row["id_number"]
            w.writerow(
                (
                    idn,
                    name,
                    py(name),
                    py(s),
                    py(given),
                    row["birth_date"],
                    row["birth_date"][:4],
                    row["gender"],
                    norm_phone(row["phone"]),
                    idn,
                    idn[-4:],
                    idn[-6:],
                    v,
                    v[:9] + "000",
                    py(places.village_name[v].removesuffix("村")),
                )
            )
    with (
        (folder / "leads.csv").open(encoding="utf-8") as f,
        lead_path.open("w", newline="", encoding="utf-8") as g,
    ):
        w = csv.writer(g)
        w.writerow(FIELDS)
        for row in csv.DictReader(f):
            name = re.sub(r"\s", "", row["name"])
            s, given = split_name(name) if name else ("", "")
            bd = parse_date(row["birth_date"])
            year = str(bd.year) if bd else ""
            age = re.sub(r"\D", "", row["age"])
            if not year and age:
                year = str(AS_OF.year - int(age))
            gender = {"男": "M", "女": "F", "M": "M", "F": "F"}.get(row["gender"].strip().upper(), "")
            idn = row["id_number"].strip().upper()
            full = idn if re.fullmatch(r"\d{17}[\dX]", idn) else ""
            tail = re.sub(r"[^\dX]", "", idn.split("*")[-1]) if idn else ""
            village, town, vname = places.resolve(row["region_code"], row["address_text"])
            w.writerow(
                (
                    row["record_id"],
                    name,
                    py(name),
                    py(s),
                    py(given),
                    bd.isoformat() if bd else "",
                    year,
                    gender,
                    norm_phone(row["phone"]),
                    full,
                    tail[-4:] if len(tail) >= 4 else "",
                    tail[-6:] if len(tail) >= 6 else "",
                    village,
                    town,
                    vname,
                )
            )
    return reg_path, lead_path


def settings() -> SettingsCreator:
    def null(*cols: str) -> dict:
        cond = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in cols)
        return {"sql_condition": cond, "label_for_charts": "null", "is_null_level": True}

    def level(cond: str, label: str, **extra) -> dict:
        return {"sql_condition": cond, "label_for_charts": label, **extra}

    def els() -> dict:
        return {"sql_condition": "ELSE", "label_for_charts": "else"}

    name = {
        "output_column_name": "name",
        "comparison_levels": [
            null("name_py"),
            level("name_l = name_r", "exact", tf_adjustment_column="name", tf_adjustment_weight=1.0),
            level(
                "name_py_l = name_py_r",
                "same pinyin",
                tf_adjustment_column="name_py",
                tf_adjustment_weight=1.0,
            ),
            level("jaro_winkler_similarity(name_py_l, name_py_r) >= 0.92", "pinyin JW >= 0.92"),
            level("given_py_l = given_py_r AND given_py_l <> ''", "same given name, other surname"),
            level(
                "surname_py_l = surname_py_r AND given_py_l <> '' AND given_py_r <> '' "
                "AND (contains(given_py_l, given_py_r) OR contains(given_py_r, given_py_l))",
                "same surname, one given name inside the other",
            ),
            level("surname_py_l = surname_py_r", "same surname"),
            els(),
        ],
    }
    birth = {
        "output_column_name": "birth",
        "comparison_levels": [
            null("birth_year"),
            level("birth_date_l = birth_date_r", "same date"),
            level(
                "year(birth_date_l) = year(birth_date_r) AND month(birth_date_l) = day(birth_date_r) "
                "AND day(birth_date_l) = month(birth_date_r)",
                "day and month swapped",
            ),
            level("birth_year_l = birth_year_r", "same year"),
            level("abs(birth_year_l - birth_year_r) <= 1", "within 1 year"),
            level("abs(birth_year_l - birth_year_r) <= 2", "within 2 years"),
            level("abs(birth_year_l - birth_year_r) <= 5", "within 5 years"),
            els(),
        ],
    }
    phone = {
        "output_column_name": "phone",
        "comparison_levels": [null("phone"), level("phone_l = phone_r", "same number"), els()],
    }
    ident = {
        "output_column_name": "id_number",
        "comparison_levels": [
            {
                "sql_condition": "(id_full_l IS NULL AND id_last4_l IS NULL) OR (id_full_r IS NULL AND id_last4_r IS NULL)",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            level("id_full_l = id_full_r", "whole, equal"),
            level("damerau_levenshtein(id_full_l, id_full_r) <= 1", "whole, one edit"),
            level("id_last6_l = id_last6_r", "last 6 equal"),
            level("id_last4_l = id_last4_r", "last 4 equal"),
            els(),
        ],
    }
    gender = {
        "output_column_name": "gender",
        "comparison_levels": [null("gender"), level("gender_l = gender_r", "same"), els()],
    }
    place = {
        "output_column_name": "place",
        "comparison_levels": [
            {
                "sql_condition": "(village_code_l IS NULL AND town_code_l IS NULL AND village_py_l IS NULL) "
                "OR (village_code_r IS NULL AND town_code_r IS NULL AND village_py_r IS NULL)",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            level("village_code_l = village_code_r", "same village"),
            level("village_py_l = village_py_r", "same village name"),
            level("town_code_l = town_code_r", "same township"),
            els(),
        ],
    }
    return SettingsCreator(
        link_type="link_only",
        comparisons=[name, birth, phone, ident, gender, place],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("id_last4"),
            block_on("name_py"),
            block_on("given_py", "village_code"),
            block_on("surname_py", "village_code"),
            block_on("surname_py", "birth_year"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def evaluate(best: list[tuple[str, str, float]], truth: dict[str, tuple[str, str, str]]) -> dict[str, object]:
    """best: (record_id, candidate id, probability). truth: record_id -> (true id, kind, underspecified)."""
    n_registered = sum(1 for t in truth.values() if t[1] == "registered")
    n_not = len(truth) - n_registered
    scored = sorted(((p, cand == truth[rid][0], truth[rid][1]) for rid, cand, p in best), reverse=True)

    def at(threshold: float) -> dict[str, float]:
        tp = sum(1 for p, ok, _ in scored if p >= threshold and ok)
        fp = sum(1 for p, ok, _ in scored if p >= threshold and not ok)
        ghosts = sum(1 for p, _, k in scored if p >= threshold and k == "not_registered")
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / n_registered if n_registered else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "threshold": threshold,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "true_matches": tp,
            "false_matches": fp,
            "not_registered_matched_share": round(ghosts / n_not, 4) if n_not else 0.0,
        }

    best_f1: dict[str, float] = {"f1": -1.0}
    tp = fp = 0
    for i, (p, ok, _) in enumerate(scored):
        tp, fp = tp + ok, fp + (not ok)
        if i + 1 < len(scored) and scored[i + 1][0] == p:
            continue
        precision, recall = tp / (tp + fp), tp / n_registered
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1["f1"]:
            best_f1 = {"f1": f1, "threshold": p}
    best_at = at(best_f1["threshold"]) if best_f1["f1"] >= 0 else {}
    # recall of the leads a careful human could resolve (not deliberately underspecified)
    resolvable = [rid for rid, t in truth.items() if t[1] == "registered" and t[2] == "0"]
    by_rid = {rid: (cand, p) for rid, cand, p in best}
    hit = sum(
        1
        for rid in resolvable
        if rid in by_rid and by_rid[rid][0] == truth[rid][0] and by_rid[rid][1] >= 0.95
    )
    top1 = sum(1 for rid in resolvable if rid in by_rid and by_rid[rid][0] == truth[rid][0])
    return {
        "at_0.95": at(0.95),
        "best_f1": best_at,
        "recall_at_0.95_of_resolvable": round(hit / len(resolvable), 4) if resolvable else 0.0,
        "top1_correct_of_resolvable": round(top1 / len(resolvable), 4) if resolvable else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--no-aliases", action="store_true", help="do not read village_aliases.csv")
    parser.add_argument("--u-pairs", type=float, default=2e7, help="pairs sampled to estimate u")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: DuckDB's default)")
    parser.add_argument(
        "--dump", type=Path, help="write each lead's best candidate and probability to this CSV"
    )
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        reg_path, lead_path = prepare(args.dir, Path(tmp), not args.no_aliases)
        timings["prepare"] = time.perf_counter() - t0
        con = duckdb.connect()
        if args.threads:
            con.execute(f"SET threads = {int(args.threads)}").fetchall()
        types = "{'birth_date': 'DATE', 'birth_year': 'INTEGER'}"
        for table, path in (("registry", reg_path), ("leads", lead_path)):
            con.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header = true, all_varchar = true, "
                f"types = {types})"
            ).fetchall()
            for col in FIELDS:
                if col not in ("birth_date", "birth_year"):
                    con.execute(f"UPDATE {table} SET {col} = NULL WHERE {col} = ''").fetchall()
        n_reg = con.execute("SELECT count(*) FROM registry").fetchall()[0][0]
        n_leads = con.execute("SELECT count(*) FROM leads").fetchall()[0][0]
    db_api = DuckDBAPI(connection=con)
    leads_sdf = db_api.register("leads", dataset_display_name="leads")
    reg_sdf = db_api.register("registry", dataset_display_name="registry")
    linker = Linker([leads_sdf, reg_sdf], settings(), log_level=logging.WARNING)
    t1 = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [
            "l.name_py = r.name_py AND l.id_full = r.id_full",
            "l.name_py = r.name_py AND l.phone = r.phone AND l.birth_year = r.birth_year",
        ],
        recall=0.3,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs, seed=args.seed)
    for rule in (block_on("name_py"), block_on("town_code", "birth_year"), block_on("id_last4")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    timings["train"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    pred = linker.inference.predict()
    con.execute(
        f"""
        CREATE TABLE pairs AS
        SELECT CASE WHEN source_dataset_l = 'leads' THEN unique_id_l ELSE unique_id_r END AS rid,
               CASE WHEN source_dataset_l = 'leads' THEN unique_id_r ELSE unique_id_l END AS cand,
               match_probability, match_weight
        FROM {pred.physical_name}
        """
    ).fetchall()
    rows = con.execute(
        "SELECT rid, arg_max(cand, (match_weight, cand)), max(match_probability) FROM pairs GROUP BY rid"
    ).fetchall()
    timings["predict"] = time.perf_counter() - t2
    n_pairs = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    truth: dict[str, tuple[str, str, str]] = {}
    with (args.dir / "leads_truth.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            truth[row["record_id"]] = (row["true_id_number"], row["kind"], row["underspecified"])
    con.execute("CREATE TABLE truth (rid VARCHAR, true_id VARCHAR)").fetchall()
    con.executemany(
        "INSERT INTO truth VALUES (?, ?)", [(k, t[0]) for k, t in truth.items() if t[0]]
    ).fetchall()
    found = con.execute(
        "SELECT count(DISTINCT t.rid) FROM truth t JOIN pairs p ON p.rid = t.rid AND p.cand = t.true_id"
    ).fetchall()[0][0]
    if args.dump:
        with args.dump.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(("record_id", "candidate_id_number", "match_probability", "true_id_number", "kind"))
            best_of = {r[0]: r for r in rows}
            for rid, (true_id, kind, _) in truth.items():
                r = best_of.get(rid)
                w.writerow((rid, r[1] if r else "", f"{r[2]:.6f}" if r else "0", true_id, kind))
    result = evaluate([(r[0], r[1], float(r[2])) for r in rows], truth)
    params = {
        "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
    }
    summary = {
        "dir": str(args.dir),
        "aliases": not args.no_aliases,
        "registry_persons": n_reg,
        "leads": n_leads,
        "blocked_pairs": n_pairs,
        "leads_with_a_candidate": len(rows),
        "registered_leads_with_true_person_among_pairs": round(
            found / max(1, len(con.execute("SELECT 1 FROM truth").fetchall())), 4
        ),
        **params,
        **result,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }
    print(json.dumps(summary, ensure_ascii=False), file=sys.stdout)


if __name__ == "__main__":
    main()
