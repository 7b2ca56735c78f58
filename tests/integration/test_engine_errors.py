# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clear failures when the engine cannot be used, and bad policies refused before any change."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from ansible_cli import run_module
from fleet_helpers import engine_listing, sandbox_cli

from sandbox.fleet import Fleet


def test_missing_socket(fleet: Fleet, inventory: str) -> None:
    """A docker_host socket that does not exist names the URL and says so."""
    result = run_module(inventory, 'h1', 'cachewarden.docker.docker_cache_facts',
                        {'docker_host': 'unix:///var/run/no-such-docker.sock'})['h1']
    assert result['failed'] is True
    assert 'unix:///var/run/no-such-docker.sock' in result['msg'] and 'does not exist' in result['msg']
    assert fleet.hosts


def test_engine_down(fleet: Fleet, inventory: str) -> None:
    """A stopped engine gives a clear failure; after it is back, facts work again."""
    assert sandbox_cli('fault', 'engine-stop', 'h3').returncode == 0
    try:
        result = run_module(inventory, 'h3', 'cachewarden.docker.docker_cache_facts')['h3']
        assert result['failed'] is True
        assert 'unix:///var/run/docker.sock' in result['msg']
    finally:
        assert sandbox_cli('fault', 'engine-start', 'h3').returncode == 0
    assert run_module(inventory, 'h3', 'cachewarden.docker.docker_cache_facts')['h3'].get('failed') is not True
    assert fleet.hosts


def test_missing_docker_sdk(fleet: Fleet, inventory: str, tmp_path: Path) -> None:
    """A managed host whose Python lacks the Docker SDK gets the missing-library message."""
    bare = tmp_path / 'bare.ini'
    bare.write_text(Path(inventory).read_text(encoding='utf-8').replace(
        'ansible_python_interpreter=', 'ansible_python_interpreter=/usr/bin/python3 unused_interpreter='), encoding='utf-8')
    result = run_module(str(bare), 'h1', 'cachewarden.docker.docker_cache_facts')['h1']
    assert result['failed'] is True
    assert 'Docker SDK for Python' in result['msg']
    assert fleet.hosts


@pytest.mark.parametrize('args, option', [
    ({'images': 'unused', 'older_than': '7 days'}, 'older_than'),
    ({'images': 'unused', 'max_cache_size': '20 gigs'}, 'max_cache_size'),
    ({'images': 'unused', 'high_watermark_percent': '180'}, 'high_watermark_percent'),
    ({'images': 'unused', 'high_watermark_percent': '70', 'low_watermark_percent': '80'}, 'low_watermark_percent'),
    ({'images': 'unused', 'keep_images': ['nginx:[1']}, 'keep_images'),
    ({'images': 'unused', 'keep_labels': ['=oops']}, 'keep_labels'),
    ({'images': 'unused', 'keep_latest': -1}, 'keep_latest'),
    ({'images': 'unused', 'max_deletions': -5}, 'max_deletions'),
    ({'images': 'everything'}, 'images'),
    ({'max_cache_size': '20GB'}, 'max_cache_size'),
])
def test_bad_policy_fails_before_any_change(fleet: Fleet, inventory: str, args: dict, option: str) -> None:
    """Each bad value fails with a message naming the option and the value; the engine is untouched."""
    host = fleet.host('h1')
    before = engine_listing(host)
    result = run_module(inventory, 'h1', 'cachewarden.docker.docker_cache_prune',
                        dict(args, state_path='/tmp/cw-state-%s.json' % uuid.uuid4().hex))['h1']
    assert result['failed'] is True
    assert option in result['msg'], result['msg']
    value = args[option]
    shown = value[0] if isinstance(value, list) else value
    assert str(shown).split()[0] in result['msg'], result['msg']
    assert engine_listing(host) == before
