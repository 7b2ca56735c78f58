# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures: one sandbox fleet for the whole integration run (see fleet_helpers)."""

from __future__ import annotations

import os

# Each pytest-xdist worker gets a fleet of its own: sandbox slot BASE + worker index, where BASE is
# CW_SANDBOX_SLOT if the caller set it, else 6 (so the tests never touch the demo fleet in slot 0).
# Set before the sandbox package is imported: it reads the slot once.
_BASE_SLOT = int(os.environ.get('CW_SANDBOX_SLOT') or 6)
os.environ['CW_SANDBOX_SLOT'] = str(_BASE_SLOT + int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:]))

import pytest  # noqa: E402  (after the slot is set)
from fleet_helpers import HOSTS, ENGINES, STORES, sandbox_cli  # noqa: E402

from sandbox.fleet import Fleet  # noqa: E402


@pytest.fixture(scope='session', name='fleet')
def fleet_fixture() -> Fleet:
    """The sandbox fleet, brought up (idempotently) with the engines above."""
    result = sandbox_cli('up', '--hosts', str(HOSTS), '--engine', ENGINES, '--store', STORES)
    assert result.returncode == 0, result.stderr
    fleet = Fleet.load()
    assert len(fleet.hosts) >= HOSTS
    return fleet


@pytest.fixture(scope='session', name='inventory')
def inventory_fixture(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An Ansible inventory of the fleet."""
    path = tmp_path_factory.mktemp('inventory') / 'sandbox.ini'
    result = sandbox_cli('inventory', '--output', str(path))
    assert result.returncode == 0, result.stderr
    assert fleet.hosts
    # `make matrix` runs the modules under other Pythons of the managed hosts (virtualenvs with their own
    # Docker SDK): the interpreter every host of the inventory uses.
    python = os.environ.get('CW_MANAGED_PYTHON')
    if python:
        text = path.read_text(encoding='utf-8')
        assert 'ansible_python_interpreter=%s ' % fleet.python in text
        path.write_text(text.replace('ansible_python_interpreter=%s ' % fleet.python,
                                     'ansible_python_interpreter=%s ' % python), encoding='utf-8')
    return str(path)
