"""Screening engines: one plan of SQL steps (screening.plan), run by DuckDB (default) or Spark."""

from __future__ import annotations

from safetynet.screening.engines.base import Engine


def get_engine(name: str) -> Engine:
    """The engine called `name`; Spark is imported only when asked for (it starts a JVM)."""
    if name == "duckdb":
        from safetynet.screening.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from safetynet.screening.engines.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown engine {name!r}: duckdb or spark")


ENGINES = ("duckdb", "spark")
