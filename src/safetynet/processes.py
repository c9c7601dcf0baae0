"""Whether the process that claimed some work is still alive, and a beat that says so: the leases of
batches, runs and jobs use them."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator


def process_alive(host: str, pid: str) -> bool:
    """Whether a process of this host is running; another host's cannot be told from here (True)."""
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A child killed with -9 stays a zombie until its parent reaps it: dead for our purpose."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


@contextlib.contextmanager
def beating(every: float, beat: Callable[[], object], name: str) -> Iterator[None]:
    """Call `beat` (a database write saying this process is alive: a lease renewed, a heartbeat) every
    `every` seconds from a thread of its own while the block runs, however long the block holds its own
    thread (DuckDB may, for minutes). A beat the database refuses is skipped; the next one tries again."""
    stop = threading.Event()

    def run() -> None:
        from django.db import DatabaseError, connection

        try:
            while not stop.wait(every):
                with contextlib.suppress(DatabaseError):
                    beat()
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
