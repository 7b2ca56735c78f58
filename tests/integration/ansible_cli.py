# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules and playbooks the way users do (ansible / ansible-playbook over SSH).

Per-host results come from ansible-core's ``tree`` callback, one JSON file per host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / '.cache' / 'collections'
BIN = Path(sys.executable).parent
_STATUS_LINE = re.compile(r'^(\S+) \| (SUCCESS|CHANGED|FAILED!|UNREACHABLE!|SKIPPED)', re.MULTILINE)


def ansible_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for ansible commands: this collection on the path, no host key prompts."""
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': str(COLLECTIONS),
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_PIPELINING': 'True',
    })
    env.update(extra or {})
    return env


def run_module(inventory: str, pattern: str, module: str, args: Optional[Dict[str, Any]] = None,
               check: bool = False, diff: bool = False, timeout: int = 300) -> Dict[str, Dict[str, Any]]:
    """Run one module ad hoc on ``pattern``; return host name -> the module's result."""
    with tempfile.TemporaryDirectory(prefix='cw-tree-') as tree:
        command = [str(BIN / 'ansible'), pattern, '-i', inventory, '-m', module]
        if args:
            command += ['-a', json.dumps(args)]
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        env = ansible_env({'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1', 'ANSIBLE_CALLBACKS_ENABLED': 'tree',
                           'ANSIBLE_CALLBACK_TREE_DIR': tree})
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        results = {}
        for path in Path(tree).iterdir():
            results[path.name] = json.loads(path.read_text(encoding='utf-8'))
        # The tree callback drops the status flags; the ad hoc summary lines still carry them.
        for host, status in _STATUS_LINE.findall(completed.stdout):
            if host in results:
                results[host]['failed'] = status in ('FAILED!', 'UNREACHABLE!')
                results[host]['unreachable'] = status == 'UNREACHABLE!'
        if not results:
            raise AssertionError('ansible produced no result (rc=%d)\n%s\n%s'
                                 % (completed.returncode, completed.stdout, completed.stderr))
        return results


def run_playbook(playbook: str, inventory: Iterable[str], extra_vars: Optional[Dict[str, Any]] = None,
                 check: bool = False, env: Optional[Dict[str, str]] = None, tags: Optional[str] = None,
                 timeout: int = 900) -> subprocess.CompletedProcess:
    """ansible-playbook with the given inventories; the caller checks the return code and output."""
    command = [str(BIN / 'ansible-playbook'), playbook]
    for source in inventory:
        command += ['-i', source]
    if extra_vars:
        command += ['-e', json.dumps(extra_vars)]
    if check:
        command.append('--check')
    if tags:
        command += ['--tags', tags]
    return subprocess.run(command, env=ansible_env(env), capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=str(REPO))


def read_cached_facts(cache: Path, host: str) -> Dict[str, Any]:
    """A host's facts from the jsonfile cache (ansible-core 2.19 names files s1_HOST and wraps a payload)."""
    files = [path for path in cache.iterdir() if path.name in (host, 's1_' + host)]
    assert len(files) == 1, sorted(p.name for p in cache.iterdir())
    data = json.loads(files[0].read_text(encoding='utf-8'))
    return json.loads(data['__payload__']) if '__payload__' in data else data


def cached_hosts(cache: Path) -> List[str]:
    """The hosts that have facts in the jsonfile cache."""
    return sorted(path.name[3:] if path.name.startswith('s1_') else path.name for path in cache.iterdir())
