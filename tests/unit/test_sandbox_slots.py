# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sandbox/paths.py: one slot table, everything read when called, the demo fleet out of the tests' reach."""

from __future__ import annotations

import pytest
import yaml

from sandbox import paths


@pytest.mark.parametrize('environ, expected', [
    ({}, paths.SLOTS['integration']),
    ({'PYTEST_XDIST_WORKER': 'gw1'}, paths.SLOTS['integration'] + 1),
    ({'CW_SANDBOX_SLOT': '40'}, 40),
    ({'CW_SANDBOX_SLOT': '40', 'PYTEST_XDIST_WORKER': 'gw3'}, 43),
    ({'CW_SANDBOX_SLOT': ''}, paths.SLOTS['integration']),
])
def test_test_run_slot(environ, expected):
    assert paths.test_run_slot(environ) == expected


@pytest.mark.parametrize('value', ['0', 'x', '100'])
def test_test_run_slot_refuses_the_demo_fleet_and_bad_values(value):
    with pytest.raises(ValueError, match="CW_SANDBOX_SLOT='?%s'?: " % value):
        paths.test_run_slot({'CW_SANDBOX_SLOT': value})


def test_the_slot_is_read_when_asked(monkeypatch):
    monkeypatch.delenv('CW_SANDBOX_DIR', raising=False)
    monkeypatch.setenv('CW_SANDBOX_SLOT', '41')
    assert (paths.slot(), paths.default_prefix(), paths.gateway()) == (41, 'cw41', '10.231.41.1')
    assert str(paths.state_dir()) == '/var/tmp/cachewarden-sandbox-41'
    monkeypatch.setenv('CW_SANDBOX_SLOT', '0')
    assert (paths.default_prefix(), str(paths.state_dir())) == ('cw', '/var/tmp/cachewarden-sandbox')


def test_molecule_default_is_the_molecule_slot():
    scenario = yaml.safe_load((paths.repo_root() / 'molecule' / 'default' / 'molecule.yml').read_text(encoding='utf-8'))
    assert scenario['ansible']['env']['CW_SANDBOX_SLOT'] == '${CW_MOLECULE_SLOT:-%d}' % paths.SLOTS['molecule']


def test_collections_dir_is_in_the_checkout():
    assert paths.collections_dir() == paths.repo_root() / '.cache' / 'collections'
    assert (paths.repo_root() / 'galaxy.yml').is_file()
