# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cache_policy role over SSH on the sandbox fleet: its contract with the play (module_defaults of the
action group reach every module call, null and '' mean "not set" for every option) and a check, converge
and idempotence sequence. `make matrix` runs this file under every supported ansible-core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml
from ansible_cli import REPO, recap, run_module, run_playbook
from fleet_helpers import engine_listing, reset
from prune_helpers import MODULE, state_path

from sandbox.fleet import Fleet

HOSTS = ('h1', 'h2')
# Every option of the role, from its argument spec.
ROLE_OPTIONS = sorted(yaml.safe_load((REPO / 'roles/cache_policy/meta/argument_specs.yml').read_text(encoding='utf-8'))
                      ['argument_specs']['main']['options'])
PLAY = """\
---
- name: The cache_policy role under the play's module_defaults
  hosts: h1:h2
  gather_facts: false
  module_defaults:
    group/cachewarden.docker.docker_cache: "{{ cw_group_defaults }}"
  roles:
    - role: cachewarden.docker.cache_policy
  post_tasks:
    - name: Write every host's result on the controller
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'cache_policy_result'))) | to_json }}"
        dest: "{{ cw_output }}"
        mode: "0600"
      delegate_to: localhost
      run_once: true
      check_mode: false
      changed_when: false
"""


def _run(tmp_path: Path, inventory: str, group_defaults: Dict[str, Any], role_vars: Optional[Dict[str, Any]] = None,
         check: bool = False) -> Dict[str, Any]:
    """The play above; returns its output, recap and each host's cache_policy_result (when the play got there)."""
    playbook, output = tmp_path / 'role.yml', tmp_path / 'results.json'
    playbook.write_text(PLAY, encoding='utf-8')
    if output.exists():
        output.unlink()
    completed = run_playbook(str(playbook), [inventory], check=check,
                             extra_vars=dict(role_vars or {}, cw_group_defaults=group_defaults, cw_output=str(output)))
    return {
        'rc': completed.returncode,
        'output': completed.stdout + completed.stderr,
        'recap': recap(completed.stdout),
        'results': json.loads(output.read_text(encoding='utf-8')) if output.exists() else {},
    }


def test_group_defaults_reach_the_role_and_role_variables_win(fleet: Fleet, inventory: str, tmp_path: Path) -> None:
    """A docker_host from module_defaults of the group is what the role's prune call uses; the role's own
    cache_policy_docker_host beats it; a policy option left null takes the group's value."""
    assert all(fleet.host(name) for name in HOSTS)
    missing = 'unix:///run/cw-missing-%s.sock' % tmp_path.name
    run = _run(tmp_path, inventory, {'docker_host': missing}, check=True)
    assert run['rc'] != 0
    for name in HOSTS:
        assert run['recap'][name]['failed'] == 1, run['output']
    assert 'cannot reach the Docker engine at %s' % missing in run['output'], run['output']

    run = _run(tmp_path, inventory, {'docker_host': missing, 'state_path': state_path()},
               {'cache_policy_docker_host': 'unix:///var/run/docker.sock'}, check=True)
    assert run['rc'] == 0, run['output']
    assert sorted(run['results']) == sorted(HOSTS)

    # max_deletions=0 from the group (the role's own default, 500, set to null) stops any plan.
    reset(fleet, *(fleet.host(name) for name in HOSTS))
    run = _run(tmp_path, inventory, {'max_deletions': 0, 'state_path': state_path()},
               {'cache_policy_max_deletions': None, 'cache_policy_older_than': None, 'cache_policy_images': 'unused'},
               check=True)
    assert run['rc'] != 0
    assert 'max_deletions=0: the plan holds' in run['output'], run['output']


@pytest.mark.parametrize('unset', [None, ''], ids=['null', 'empty-string'])
def test_null_and_empty_string_mean_not_set(fleet: Fleet, inventory: str, tmp_path: Path, unset: Optional[str]) -> None:
    """With every role option null (or ''), the role plans exactly what the module plans with the group's
    module_defaults alone: no option of the role got in the way, and the argument spec let every one through."""
    reset(fleet, *(fleet.host(name) for name in HOSTS))
    group = {'images': 'unused', 'containers': True, 'build_cache': 'all', 'state_path': state_path()}
    run = _run(tmp_path, inventory, group, {name: unset for name in ROLE_OPTIONS}, check=True)
    assert run['rc'] == 0, run['output']
    direct = run_module(inventory, 'h1:h2', MODULE, group, check=True)
    for name in HOSTS:
        assert not direct[name].get('failed'), direct[name].get('msg')
        assert len(direct[name]['plan']) > 0
        assert run['results'][name]['planned'] == len(direct[name]['plan']), name
    assert fleet.hosts


def test_check_converge_idempotence(fleet: Fleet, inventory: str, tmp_path: Path) -> None:
    """Check mode changes nothing and plans what the real run then removes; a second run changes nothing."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    before = {host.name: engine_listing(host) for host in hosts}
    policy = {'cache_policy_images': 'unused', 'cache_policy_older_than': None, 'cache_policy_build_cache': 'all',
              'cache_policy_state_path': state_path()}

    check = _run(tmp_path, inventory, {}, policy, check=True)
    assert check['rc'] == 0, check['output']
    for host in hosts:
        assert engine_listing(host) == before[host.name], host.name
        assert check['results'][host.name]['planned'] > 0
        assert check['results'][host.name]['removed'] == 0

    converge = _run(tmp_path, inventory, {}, policy)
    assert converge['rc'] == 0, converge['output']
    for host in hosts:
        result = converge['results'][host.name]
        # At least the plan: build cache records that only the removed images held go with them.
        assert result['removed'] >= check['results'][host.name]['planned'] > 0, host.name
        assert converge['recap'][host.name]['changed'] >= 1
        assert engine_listing(host) != before[host.name]

    again = _run(tmp_path, inventory, {}, policy)
    assert again['rc'] == 0, again['output']
    for host in hosts:
        assert again['recap'][host.name]['changed'] == 0, again['output']
        assert again['results'][host.name]['planned'] == 0
        assert again['results'][host.name]['removed'] == 0
