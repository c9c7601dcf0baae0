"""The Spark engine: the same plan, transpiled by sqlglot, on a cluster or in local mode.

`SAFETYNET_SPARK_MASTER` picks the cluster (default `local[2]`); the lake must be reachable from the
executors at the same URL.
"""

from __future__ import annotations

import os
import threading

import pyarrow as pa
from django.conf import settings
from sqlglot import exp

from safetynet.screening.engines.base import Engine
from safetynet.screening.inputs import TEXT, InputTable

_session_lock = threading.Lock()
SPARK_TYPES = {TEXT: "STRING"}


def spark_session():  # type: ignore[no-untyped-def]
    """One SparkSession per process (starting one costs seconds); Chinese time for timestamps."""
    from pyspark.sql import SparkSession

    with _session_lock:
        os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
        builder = (
            SparkSession.builder.master(settings.SAFETYNET_SPARK_MASTER)
            .appName("safetynet-screening")
            .config("spark.sql.session.timeZone", settings.TIME_ZONE)
            .config("spark.sql.shuffle.partitions", str(settings.SAFETYNET_SPARK_PARTITIONS))
            .config("spark.driver.memory", settings.SAFETYNET_SPARK_MEMORY)
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.ansi.enabled", "false")
        )
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self) -> None:
        self.spark = spark_session()
        self._cached: list[str] = []

    def register(self, table: InputTable, paths: list[str], base: str | None) -> None:
        columns = ", ".join(
            f"CAST(NULL AS {SPARK_TYPES.get(t, t)}) AS {n}" if not paths else self._typed(n, t)
            for n, t in table.columns
        )
        if not paths:
            self.spark.sql(f"SELECT {columns} WHERE 1 = 0").createOrReplaceTempView(table.name)
            return
        reader = self.spark.read
        if base:
            reader = reader.option("basePath", base)
        reader.parquet(*paths).createOrReplaceTempView(f"_raw_{table.name}")
        self.spark.sql(f"SELECT {columns} FROM _raw_{table.name}").createOrReplaceTempView(table.name)

    @staticmethod
    def _typed(name: str, sql_type: str) -> str:
        if sql_type == TEXT:
            return f"NULLIF(TRIM(CAST({name} AS STRING)), '') AS {name}"
        return f"CAST({name} AS {sql_type}) AS {name}"

    def materialise(self, name: str, select: exp.Expr) -> None:
        # Computed once, in order, and cut from its lineage: later steps read it from the executors' memory,
        # and their plans stay small (a plan that carries every step before it takes Spark tens of
        # seconds to analyse by the last rule).
        frame = self.spark.sql(self.sql(select)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._cached.append(name)

    def fetch(self, select: exp.Expr) -> pa.Table:
        return self.spark.sql(self.sql(select)).toArrow()

    def close(self) -> None:
        for name in self._cached:
            self.spark.catalog.dropTempView(name)
