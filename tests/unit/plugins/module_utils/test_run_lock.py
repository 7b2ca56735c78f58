# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_lock.py: one prune at a time per engine; a clear error naming the holder when the wait runs out."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.run_lock import EngineLock, LockTimeout, lock_path


class Clock:
    """A clock that moves only when the lock sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_lock_file_is_named_after_the_engine_beside_the_state(tmp_path):
    assert lock_path('/var/lib/cachewarden/last-used.json', 'ABCD:EF/12') == \
        '/var/lib/cachewarden/engine-ABCD_EF_12.lock'


def test_a_second_exclusive_lock_waits_then_fails_naming_the_holder(tmp_path):
    path = str(tmp_path / 'state' / 'engine-x.lock')
    clock = Clock()
    with EngineLock(path, 600, what='docker_cache_prune'):
        with pytest.raises(LockTimeout) as caught:
            with EngineLock(path, 2, clock=lambda: clock.now, sleep=clock.sleep):
                pass  # pragma: no cover
    message = str(caught.value)
    assert 'pid %d' % os.getpid() in message and 'lock_timeout=2s' in message and path in message
    assert sum(clock.sleeps) >= 2
    with EngineLock(path, 0):  # released: taken at once
        pass


def test_check_mode_takes_a_shared_lock_and_creates_no_file(tmp_path):
    path = str(tmp_path / 'engine-x.lock')
    with EngineLock(path, 0, exclusive=False):
        assert not os.path.exists(path)
    with EngineLock(path, 0):
        pass
    with EngineLock(path, 0, exclusive=False):
        with EngineLock(path, 0, exclusive=False):  # check-mode runs do not wait for each other
            pass
        with pytest.raises(LockTimeout):
            with EngineLock(path, 0):  # a real run waits for a check-mode run
                pass  # pragma: no cover
