"""Django's SQLite backend over SQLCipher: the same SQL, types and settings, an encrypted file.

Only what differs is here: the driver module (its errors, adapters and converters are its own), a keyed
connect, and a cursor class derived from the driver's (a connection accepts only its own cursor type)."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from itertools import tee
from typing import Any

from django.db.backends.sqlite3 import base as sqlite_base
from django.db.backends.sqlite3._functions import register as register_functions
from django.utils.asyncio import async_unsafe
from django.utils.dateparse import parse_date, parse_datetime, parse_time

from safetynet import sqlcipher
from safetynet.sqlcipher import Database

# The same conversions Django registers on the standard sqlite3 module, which the driver does not share.
Database.register_converter("bool", b"1".__eq__)
Database.register_converter("date", sqlite_base.decoder(parse_date))
Database.register_converter("time", sqlite_base.decoder(parse_time))
Database.register_converter("datetime", sqlite_base.decoder(parse_datetime))
Database.register_converter("timestamp", sqlite_base.decoder(parse_datetime))
Database.register_adapter(decimal.Decimal, str)
Database.register_adapter(datetime.date, sqlite_base.adapt_date)  # type: ignore[attr-defined]
Database.register_adapter(datetime.datetime, sqlite_base.adapt_datetime)  # type: ignore[attr-defined]


class CursorWrapper(Database.Cursor):  # type: ignore[misc]
    """Django's "format"/"pyformat" placeholders turned into the driver's, as `SQLiteCursorWrapper` does."""

    convert_query = sqlite_base.SQLiteCursorWrapper.convert_query  # type: ignore[attr-defined]

    def execute(self, query: str, params: Any = None) -> Any:
        if params is None:
            return super().execute(query)
        names = list(params) if isinstance(params, Mapping) else None
        return super().execute(self.convert_query(query, param_names=names), params)

    def executemany(self, query: str, param_list: Any) -> Any:
        peek, param_list = tee(iter(param_list))
        first = next(peek, None)
        names = list(first) if first and isinstance(first, Mapping) else None
        return super().executemany(self.convert_query(query, param_names=names), param_list)


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    vendor = "sqlite"
    display_name = "SQLite (SQLCipher)"
    Database = Database

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        params = dict(conn_params)
        conn = sqlcipher.connect(params.pop("database"), **params)
        register_functions(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        for init_command in self.init_commands:  # type: ignore[attr-defined]
            if init_command := init_command.strip():
                conn.execute(init_command)
        return conn

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=CursorWrapper)
