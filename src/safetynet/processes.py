"""Whether the process that claimed some work is still alive: leases of batches, runs and jobs use it."""

from __future__ import annotations

import os
import socket


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
