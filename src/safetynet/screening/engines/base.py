"""The interface every screening engine implements, as Splink does with its SQL dialects."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pyarrow as pa
from sqlglot import exp

from safetynet.lake.services import LakeInputs
from safetynet.screening.inputs import INPUTS, InputTable


class Engine(ABC):
    """Runs SQL written in DuckDB's dialect, on inputs read from the lake."""

    name: str
    dialect: str  # sqlglot dialect the plan is rendered in

    @abstractmethod
    def register(self, table: InputTable, paths: list[str], base: str | None) -> None:
        """Expose Parquet `paths` (empty: no data yet) as `table.name`, typed as the input declares."""

    @abstractmethod
    def materialise(self, name: str, select: exp.Expr) -> None:
        """Compute `select` once and keep it as table `name` for the steps after it."""

    @abstractmethod
    def fetch(self, select: exp.Expr) -> pa.Table:
        """Run `select` and return its rows."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the engine holds."""

    def register_lake(self, lake: LakeInputs) -> None:
        for table in INPUTS:
            if table.registry:
                path = lake.registry.get(table.source)
                self.register(table, [path] if path else [], None)
            else:
                folders = [folder for _, folder in lake.feeds.get(table.source, [])]
                self.register(table, folders, lake.base.get(table.source))

    def sql(self, tree: exp.Expr) -> str:
        return tree.sql(dialect=self.dialect)
