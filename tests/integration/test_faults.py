# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults over SSH on the sandbox fleet: a dead engine or link in a fleet run, an engine restarted
during a prune, another prune holding the engine (HTTP 409), a broken last-used state file, a slow engine.

The engine itself never answers 409 to what the module calls (it removes containers, images, volumes and
networks one by one, which take no prune lock, and BuildKit queues concurrent build cache prunes), so the
409 and the slow engine come from engine_proxy.EngineProxy, a pass-through proxy in front of the real
socket. Every test that breaks a host repairs it in ``finally``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from ansible_cli import REPO, recap, run_cases, run_module, run_playbook
from engine_proxy import EngineProxy
from fleet_helpers import engine_listing, reset, sandbox_cli, ssh

from sandbox.fleet import Fleet, Host

PRUNE = 'cachewarden.docker.docker_cache_prune'
FACTS = 'cachewarden.docker.docker_cache_facts'
BUSY = {'message': 'a prune operation is already running'}
# ServerAlive lets ssh notice a link that died under an open connection; a private control path keeps
# this run from reusing a master connection opened without it.
SSH_ENV = {'ANSIBLE_SSH_ARGS': '-C -o ControlMaster=auto -o ControlPersist=30s -o ServerAliveInterval=2 '
                               '-o ServerAliveCountMax=2', 'ANSIBLE_TIMEOUT': '10'}


def _state_path() -> str:
    return '/tmp/cw-state-%s.json' % uuid.uuid4().hex


def _proxy_socket(host: Host, name: str) -> Tuple[Path, str]:
    """Where a proxy listens: outside path, and the docker_host URL the host itself sees."""
    return host.run_dir / ('cw-proxy-%s.sock' % name), 'unix:///var/run/cw-proxy-%s.sock' % name


def _objects(listing: Dict[str, List]) -> Set[Tuple[str, str]]:
    """(type, id) of everything in an engine_listing, in the plan's type names."""
    return ({('image', i) for i, _tags in listing['images']} | {('container', c) for c, _state in listing['containers']}
            | {('volume', v) for v in listing['volumes']} | {('network', n) for n in listing['networks']}
            | {('build_cache', b) for b in listing['build_cache']})


def _is_cache_prune(path: str) -> bool:
    return path.split('?', 1)[0].endswith('/build/prune')


def _keys(items: List[Dict[str, Any]]) -> Set[Tuple[str, str]]:
    return {(item['type'], item['id']) for item in items}


def _enforce(inventory: str, report: Path, playbook: str = 'playbooks/enforce.yml') -> Tuple[Dict[str, Dict[str, int]], str]:
    policy = {'containers': True, 'images': 'dangling', 'state_path': '/tmp/cw-state-fleet.json'}
    completed = run_playbook(playbook, [inventory], env=dict(SSH_ENV, ANSIBLE_SSH_CONTROL_PATH_DIR=str(report / 'cp')),
                             extra_vars={'cachewarden_policy': policy, 'cache_policy_report_path': str(report)})
    output = completed.stdout + completed.stderr
    counts = recap(completed.stdout)
    assert counts, output
    return counts, output


CUT_PLAYBOOK = """\
---
- name: Open the connections, then cut one host's link
  hosts: all
  gather_facts: false
  tasks:
    - name: Reach every host
      ansible.builtin.ping:

    - name: Pull the link of {host} down
      ansible.builtin.command:
        cmd: "{python} -m sandbox fault link-down {host}"
        chdir: "{repo}"
      delegate_to: localhost
      run_once: true
      changed_when: true

- name: The fleet run
  ansible.builtin.import_playbook: {repo}/playbooks/enforce.yml
"""


def _entry(report: Path, name: str) -> Dict[str, Any]:
    return json.loads((report / ('%s.json' % name)).read_text(encoding='utf-8'))[name]


def test_fleet_run_with_a_dead_engine_and_a_cut_link(fleet: Fleet, inventory: str, tmp_path: Path) -> None:
    """One fleet run of the enforce playbook: h3's engine is down from the start, h2's link is cut after the
    run has reached every host. h3 fails saying why, h2 is unreachable, the others complete. Once both are
    repaired, a rerun converges: every host succeeds, the others have nothing left to do."""
    down, cut = fleet.host('h3'), fleet.host('h2')
    others = [host.name for host in fleet.sorted_hosts() if host.name not in (down.name, cut.name)]
    playbook = tmp_path / 'cut.yml'
    playbook.write_text(CUT_PLAYBOOK.format(host=cut.name, python=fleet.python, repo=REPO), encoding='utf-8')
    assert sandbox_cli('fault', 'engine-stop', down.name).returncode == 0
    try:
        counts, output = _enforce(inventory, tmp_path, playbook=str(playbook))
    finally:
        assert sandbox_cli('fault', 'link-up', cut.name).returncode == 0
        assert sandbox_cli('fault', 'engine-start', down.name).returncode == 0
    assert counts[down.name]['failed'] == 1 and counts[down.name]['unreachable'] == 0, output
    entry = _entry(tmp_path, down.name)
    assert entry['failed'] is True
    assert any('cannot reach the Docker engine at unix:///var/run/docker.sock' in error and 'dockerd running' in error
               for error in entry['errors']), entry
    assert counts[cut.name]['unreachable'] == 1 and counts[cut.name]['ok'] >= 1, output
    assert not (tmp_path / ('%s.json' % cut.name)).exists(), 'the role did not get to run on the cut host'
    for name in others:
        assert counts[name]['failed'] == 0 and counts[name]['unreachable'] == 0, output
        assert _entry(tmp_path, name)['failed'] is False
    again, output = _enforce(inventory, tmp_path)
    assert all(again[host.name]['failed'] == 0 and again[host.name]['unreachable'] == 0
               for host in fleet.sorted_hosts()), output
    assert _entry(tmp_path, down.name)['failed'] is False and _entry(tmp_path, cut.name)['failed'] is False
    assert all(again[name]['changed'] == 0 for name in others), 'the others were done already: %s' % output


def test_engine_restarted_during_prune(fleet: Fleet, inventory: str) -> None:
    """The engine stops at the fourth removal request and is started again: the run reports what was removed
    and what it could not confirm (not_done); a rerun finishes the plan; nothing outside the plan is removed.

    Removals run several at a time, so requests sent next to the fourth race with the stop: each of them is
    either confirmed (in removed) or not (in not_done, whether or not the engine got to it).
    """
    host = fleet.host('h1')
    reset(fleet, host)
    before = engine_listing(host)
    listen, url = _proxy_socket(host, 'restart')
    deletes: List[str] = []

    def stop_at_four(method: str, path: str) -> None:
        if method == 'DELETE':
            deletes.append(path)
            if len(deletes) == 4:
                assert sandbox_cli('fault', 'engine-stop', host.name).returncode == 0

    args = {'containers': True, 'images': 'unused', 'networks': True, 'build_cache': 'all', 'state_path': _state_path()}
    try:
        with EngineProxy(listen, host.socket, rule=stop_at_four):
            first = run_module(inventory, host.name, PRUNE, dict(args, docker_host=url))[host.name]
    finally:
        assert sandbox_cli('fault', 'engine-start', host.name).returncode == 0
    assert first['failed'] is True and 'rerun to finish the plan' in first['msg'], first['msg']
    assert url in first['msg']
    assert first['removed'] and first['not_done'], first
    assert len(first['removed']) < len(deletes), 'the request that met the stop is not reported removed'
    planned = _keys(first['plan'])
    assert _keys(first['removed']) | _keys(first['not_done']) | _keys(first['skipped_items']) >= planned
    assert not _keys(first['removed']) & _keys(first['not_done'])
    restarted = _objects(engine_listing(host))
    assert not _keys(first['removed']) & restarted, 'what the run reports removed is gone'
    second = run_module(inventory, host.name, PRUNE, args)[host.name]
    assert not second['failed'], second.get('msg')
    assert _keys(second['plan']) <= planned, 'the rerun plans nothing new'
    still_there = _keys(first['not_done']) & restarted
    assert still_there <= _keys(second['plan']) | _keys(second['skipped_items']), 'the rerun takes up the rest'
    after = _objects(engine_listing(host))
    gone = _objects(before) - after
    # Build cache records set free by removed images are taken by the run that finds them free (docs/prune.md).
    released = _keys([item for run in (first, second) for item in run['removed']
                      if item['reason'].startswith('released by the images this run removed')])
    assert gone <= planned | released, 'removed outside the plan: %s' % sorted(gone - planned - released)
    assert all(kind == 'build_cache' for kind, _ident in released)
    to_remove = _keys([item for item in first['plan'] if item.get('action', 'remove') == 'remove'])
    assert not to_remove & after - _keys(second['skipped_items']), 'the plan is finished'


def test_concurrent_prune_is_retried_then_fails_clearly(fleet: Fleet, inventory: str) -> None:
    """HTTP 409 "a prune operation is already running": retried with doubling waits; when it persists the
    run stops with a clear message and the build cache left in not_done; once the other prune is over a
    rerun finishes."""
    host = fleet.host('h2')
    reset(fleet, host)
    listen, url = _proxy_socket(host, 'busy')
    args = {'containers': True, 'build_cache': 'all', 'state_path': _state_path(), 'docker_host': url}

    def always_busy(method: str, path: str) -> Any:
        return (409, BUSY) if method == 'POST' and _is_cache_prune(path) else None

    with EngineProxy(listen, host.socket, rule=always_busy) as proxy:
        stuck = run_module(inventory, host.name, PRUNE, args)[host.name]
    assert stuck['failed'] is True, stuck.get('plan')
    assert 'another prune kept running on the engine' in stuck['msg'] and '409' in stuck['msg'], stuck['msg']
    assert 'rerun' in stuck['msg']
    prunes = [call for call in proxy.calls if _is_cache_prune(call[2])]
    assert len(prunes) == 6, 'one call and five retries, then the run stops: %s' % prunes
    assert {item['type'] for item in stuck['not_done']} == {'build_cache'}
    assert all(item['type'] == 'container' for item in stuck['removed'])

    busy_left = [3]

    def busy_three_times(method: str, path: str) -> Any:
        if method == 'POST' and _is_cache_prune(path) and busy_left[0]:
            busy_left[0] -= 1
            return 409, BUSY
        return None

    with EngineProxy(listen, host.socket, rule=busy_three_times) as proxy:
        done = run_module(inventory, host.name, PRUNE, args)[host.name]
    assert not done['failed'], done.get('msg')
    assert _keys(done['removed']) >= _keys(stuck['not_done']) - _keys(done['skipped_items'])
    prunes = [call for call in proxy.calls if _is_cache_prune(call[2])]
    assert [status for _t, _m, _p, status in prunes[:4]] == [409, 409, 409, 200]
    waits = [later[0] - earlier[0] for earlier, later in zip(prunes, prunes[1:4])]
    assert waits[0] >= 0.5 and waits[1] >= 1.0 and waits[2] >= 2.0, 'backoff doubles: %s' % waits
    assert not engine_listing(host)['build_cache'] or done['skipped_items']


def test_corrupt_and_unwritable_state_file(fleet: Fleet, inventory: str) -> None:
    """A corrupt last-used file: a warning, the same ordering as without a file, success, and the file is
    replaced (new inode, valid JSON, no temporary left). An unwritable one: warnings, success."""
    host = fleet.host('h4')
    folder = '/tmp/cw-state-%s' % uuid.uuid4().hex
    corrupt, blocked = folder + '/last-used.json', folder + '/blocked'
    inode = ssh(fleet, host, 'mkdir -p %s && printf "{not json" > %s && stat -c %%i %s' % (blocked, corrupt, corrupt))
    policy = {'images': 'unused', 'max_cache_size': '1kB', 'protect_base_images': False}
    results, output = run_cases(inventory, host.name, PRUNE, check=True, cases=[
        {'id': 'no file', 'args': dict(policy, state_path=folder + '/none.json')},
        {'id': 'corrupt file', 'args': dict(policy, state_path=corrupt)}])
    fallback, checked = results
    assert not checked['failed'] and not fallback['failed']
    assert checked['plan'], 'the budget plans removals in least-recently-used order'
    assert [i['id'] for i in checked['plan']] == [i['id'] for i in fallback['plan']], 'ordering falls back'
    assert 'last-used state %s could not be read' % corrupt in output and 'falls back' in output
    assert ssh(fleet, host, 'cat %s' % corrupt) == '{not json', 'check mode leaves the file alone'
    results, output = run_cases(inventory, host.name, PRUNE, cases=[
        {'id': 'corrupt file', 'args': {'containers': True, 'state_path': corrupt}},
        {'id': 'a folder in the way', 'args': {'containers': True, 'state_path': blocked}}])
    assert not any(result['failed'] for result in results), results
    assert 'last-used state %s could not be read' % corrupt in output
    assert 'last-used state %s could not be written' % blocked in output, output
    state, after, listing = ssh(fleet, host, 'cat %s; echo; stat -c %%i %s; ls -A %s; rm -rf %s'
                                % (corrupt, corrupt, folder, folder)).split('\n', 2)
    assert json.loads(state)['version'] == 1 and isinstance(json.loads(state)['images'], dict)
    assert after != inode.strip(), 'replaced by a rename, not rewritten in place'
    names = [name for name in listing.split() if not (name.startswith('engine-') and name.endswith('.lock'))]
    assert names == ['blocked', 'last-used.json'], 'no temporary file left (the run lock file stays)'


def test_slow_engine_hits_the_timeout(fleet: Fleet, inventory: str) -> None:
    """An engine slower than ``timeout``: a failure naming the timeout and its value."""
    host = fleet.host('h1')
    listen, url = _proxy_socket(host, 'slow')
    with EngineProxy(listen, host.socket, delay=4.0):
        result = run_module(inventory, host.name, FACTS, {'docker_host': url, 'timeout': 1})[host.name]
    assert result['failed'] is True
    assert 'timeout=1 seconds' in result['msg'] and url in result['msg'], result['msg']
