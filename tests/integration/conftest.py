# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures: one sandbox fleet for the whole integration run (see fleet_helpers)."""

from __future__ import annotations

import os

import pytest
from fleet_helpers import HOSTS, ENGINES, STORES, sandbox_cli

from sandbox import paths
from sandbox.fleet import Fleet


def pytest_configure(config: pytest.Config) -> None:  # pylint: disable=unused-argument
    """Each pytest-xdist worker gets a fleet of its own: sandbox slot CW_SANDBOX_SLOT (else the integration slot of
    sandbox.paths.SLOTS) + worker index, never the demo fleet's. The sandbox tool and its subprocesses read it."""
    try:
        os.environ['CW_SANDBOX_SLOT'] = str(paths.test_run_slot(os.environ))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


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
