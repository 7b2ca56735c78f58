# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clear failures when the engine cannot be used (bad input: test_bad_input.py; faults: test_faults.py)."""

from __future__ import annotations

from pathlib import Path

from ansible_cli import run_module

from sandbox.fleet import Fleet


def test_missing_socket(fleet: Fleet, inventory: str) -> None:
    """A docker_host socket that does not exist names the URL and says so."""
    result = run_module(inventory, 'h1', 'cachewarden.docker.docker_cache_facts',
                        {'docker_host': 'unix:///var/run/no-such-docker.sock'})['h1']
    assert result['failed'] is True
    assert 'unix:///var/run/no-such-docker.sock' in result['msg'] and 'does not exist' in result['msg']
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
