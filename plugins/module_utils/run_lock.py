# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One prune at a time per engine: an advisory file lock on the managed host.

A cron job and an AWX job may start together on one host. Without a lock both would read the
engine before the other removes anything, both would free the whole budget, and both would
count the same items as removed. The lock covers read -> plan -> apply -> read again -> state.

The lock is ``flock`` on a file named after the engine's own ID (``GET /info``), so two
``docker_host`` spellings of one engine share it. The kernel drops the lock when the holder
dies, so a crashed run never blocks the next one. The holder writes who it is into the file,
which a run that gives up waiting quotes in its error.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from typing import Any, Callable, Dict, Optional

LOCK_POLL_SECONDS = 0.2


class LockTimeout(Exception):
    """Another run held the engine's lock for longer than the caller would wait."""


def lock_path(state_path: str, engine_id: str) -> str:
    """The lock file of one engine, beside the last-used state file."""
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', engine_id or 'unknown-engine')
    return os.path.join(os.path.dirname(state_path) or '/', 'engine-%s.lock' % safe)


def _holder(handle: Any) -> str:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or '{}')
    except (OSError, ValueError):
        return 'an unknown process'
    if not isinstance(data, dict):
        return 'an unknown process'
    started = data.get('started')
    since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(started)) if isinstance(started, (int, float)) else '?'
    return 'pid %s on %s (%s), holding it since %s' % (
        data.get('pid', '?'), data.get('host', '?'), data.get('what', 'docker_cache_prune'), since)


class EngineLock:
    """``with EngineLock(path, timeout, exclusive):`` waits up to ``timeout`` seconds, then raises LockTimeout.

    ``exclusive`` False takes a shared lock on an existing file and nothing when there is none
    (check mode creates no file and never waits for another check-mode run).
    """

    def __init__(self, path: str, timeout: float, exclusive: bool = True, what: str = 'docker_cache_prune',
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.timeout = timeout
        self.exclusive = exclusive
        self.what = what
        self.clock = clock
        self.sleep = sleep
        self._handle: Optional[Any] = None

    def __enter__(self) -> 'EngineLock':
        if self.exclusive:
            os.makedirs(os.path.dirname(self.path) or '/', mode=0o700, exist_ok=True)
            handle = open(self.path, 'a+', encoding='utf-8')  # pylint: disable=consider-using-with
        else:
            try:
                handle = open(self.path, 'r', encoding='utf-8')  # pylint: disable=consider-using-with
            except FileNotFoundError:
                return self
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = self.clock() + self.timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self.clock() >= deadline:
                    holder = _holder(handle)
                    handle.close()
                    raise LockTimeout('another run holds the lock %s of this engine: %s; gave up after waiting '
                                      'lock_timeout=%ss' % (self.path, holder, _seconds(self.timeout))) from None
                self.sleep(LOCK_POLL_SECONDS)
        if self.exclusive:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(self._me()))
            handle.flush()
        self._handle = handle
        return self

    def _me(self) -> Dict[str, Any]:
        return {'pid': os.getpid(), 'host': socket.gethostname(), 'started': int(time.time()), 'what': self.what}

    def __exit__(self, *exc_info: Any) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _seconds(value: float) -> str:
    return ('%d' % value) if float(value).is_integer() else ('%g' % value)
