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
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sandbox import paths

REPO = paths.repo_root()
# `make matrix` points these at another ansible-core's virtualenv and at the collection built and installed
# with it; by default, the ansible-core of the test run's own virtualenv and the checkout (`make collection`).
COLLECTIONS = Path(os.environ.get('CW_COLLECTIONS_PATH') or paths.collections_dir())
BIN = Path(os.environ.get('CW_ANSIBLE_BIN') or Path(sys.executable).parent)
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
        # ansible-core 2.19 keeps warnings out of results: they are only displayed.
        for result in results.values():
            result['_output'] = one_line(completed.stdout + completed.stderr)
        if not results:
            raise AssertionError('ansible produced no result (rc=%d)\n%s\n%s'
                                 % (completed.returncode, completed.stdout, completed.stderr))
        return results


def one_line(text: str) -> str:
    """Output with its line wrapping undone, to look for a displayed warning or message."""
    return ' '.join(text.split())


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


_RECAP_LINE = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+'
                         r'rescued=(\d+)\s+ignored=(\d+)', re.MULTILINE)


def recap(stdout: str) -> Dict[str, Dict[str, int]]:
    """The PLAY RECAP of an ansible-playbook run: host name -> its counts."""
    names = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
    return {match[0]: dict(zip(names, map(int, match[1:]))) for match in _RECAP_LINE.findall(stdout)}


CASES_PLAYBOOK = """\
---
- name: Run one module once per case, each case on its own alias of the host
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the module with the case's arguments
      # A template for the whole argument dict is what lets unknown keys through to the module.
      MODULE: "{{ cw_args }}"
      ignore_errors: true
      register: cw_result

    - name: Write every result on the controller
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'cw_result'))) | to_json }}"
        dest: "{{ cw_output }}/results.json"
        mode: "0600"
      delegate_to: localhost
      run_once: true
      check_mode: false
"""
CASES_FORKS = '8'


def alias_inventory(inventory: str, host: str, per_alias: List[Dict[str, Any]], path: Path) -> List[str]:
    """Write an inventory of aliases ``case00``, ``case01``... of ``host`` (its connection variables from
    the INI ``inventory``), alias N with the variables ``per_alias[N]``; return the alias names."""
    line = next(row for row in Path(inventory).read_text(encoding='utf-8').splitlines() if row.startswith(host + ' '))
    connection = dict(word.split('=', 1) for word in shlex.split(line)[1:])
    hosts = {'case%02d' % index: dict(connection, **variables) for index, variables in enumerate(per_alias)}
    path.write_text(json.dumps({'all': {'hosts': hosts}}), encoding='utf-8')
    return list(hosts)


def run_cases(inventory: str, host: str, module: str, cases: List[Dict[str, Any]],
              env: Optional[Dict[str, str]] = None, check: bool = False) -> Tuple[List[Dict[str, Any]], str]:
    """Run ``module`` with the arguments of each case (``{'id': ..., 'args': {...}}``) on ``host``, in ONE
    ansible-playbook run, each case on its own alias of the host so that forks run them side by side,
    failures ignored; return the results in case order and the output (see one_line)."""
    with tempfile.TemporaryDirectory(prefix='cw-cases-') as folder:
        playbook, aliases = Path(folder) / 'cases.yml', Path(folder) / 'aliases.yml'
        playbook.write_text(CASES_PLAYBOOK.replace('MODULE', module), encoding='utf-8')
        names = alias_inventory(inventory, host, [{'cw_args': case['args']} for case in cases], aliases)
        completed = run_playbook(str(playbook), [str(aliases)], env=dict({'ANSIBLE_FORKS': CASES_FORKS}, **(env or {})),
                                 check=check, extra_vars={'cw_output': folder})
        output = Path(folder) / 'results.json'
        if not output.is_file():
            raise AssertionError('no results (rc=%d)\n%s\n%s' % (completed.returncode, completed.stdout, completed.stderr))
        results = json.loads(output.read_text(encoding='utf-8'))
        return [dict(results[name], item=case) for name, case in zip(names, cases)], \
            one_line(completed.stdout + completed.stderr)
