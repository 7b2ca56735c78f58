# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, table-driven, over SSH on h1: every option of both modules and of the role with invalid
values fails with a message naming the option and the value, and the engine is left as it was.

The whole table costs three ansible-playbook runs, one per module (ansible_cli.run_cases) and one for the
role, each over an inventory of one alias of h1 per case, so that forks run the cases side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from ansible_cli import CASES_FORKS, alias_inventory, recap, run_cases, run_playbook
from fleet_helpers import engine_listing

from sandbox.fleet import Fleet

HOST = 'h1'
STATE = '/tmp/cw-state-bad-input.json'
MISSING = '/nonexistent/cw-test.pem'


def case(option: str, value: Any, shown: Optional[str] = '', **context: Any) -> Dict[str, Any]:
    """One invalid value. ``shown``: what the message must quote ('' = the value itself, None = only the
    option is named: Ansible's own messages for unknown keys and list conversions carry no value)."""
    return {'option': option, 'value': value, 'shown': str(value) if shown == '' else shown,
            'args': dict(context, **{option: value})}


# Options both modules share: the connection to the engine.
ENGINE_CASES = [
    case('docker_host', 'ftp://engine'),
    case('docker_host', '/var/run/docker.sock'),
    case('api_version', 'latest'),
    case('api_version', '1.24'),
    case('timeout', 0),
    case('timeout', 'soon'),
    case('tls', 'maybe'),
    case('validate_certs', 'perhaps'),
    case('ca_path', MISSING, validate_certs=True),
    case('client_cert', MISSING, validate_certs=True, client_key=MISSING),
    case('client_key', MISSING, tls=True, client_cert='/etc/hostname'),
    case('client_cert', '/etc/hostname', tls=True),  # a certificate without its key
    case('no_such_option', 1, shown=None),
]

PRUNE_CASES = ENGINE_CASES + [
    case('containers', 'sometimes'),
    case('images', 'everything'),
    case('networks', 'nope'),
    case('volumes', 'named'),
    case('build_cache', 'some'),
    case('older_than', '7 days', shown='7 days', images='unused'),
    case('older_than', '-3d', images='unused'),
    case('age_basis', 'modified'),
    case('keep_images', ['nginx:[1'], shown='nginx:[1'),
    case('keep_images', ['ngin$x:*'], shown='ngin$x:*'),
    case('keep_images', {'nginx': 1}, shown=None),
    case('keep_labels', ['=oops'], shown='=oops'),
    case('keep_labels', ['bad key=1'], shown='bad key=1'),
    case('keep_latest', -1, images='unused'),
    case('keep_latest', 'two'),
    case('protect_base_images', 'yesno'),
    case('max_cache_size', '20 gigs', images='unused'),
    case('max_cache_size', '-5GB', images='unused'),
    case('max_cache_size', '20GB'),  # nothing named that may go to meet it
    case('high_watermark_percent', '180', images='unused'),
    case('high_watermark_percent', 'ninety', images='unused'),
    case('low_watermark_percent', '80', images='unused', high_watermark_percent='70'),  # above the high mark
    case('low_watermark_percent', '70', images='unused'),  # without a high mark
    case('build_cache_reserve', '5 GB please', build_cache='unused'),
    case('build_cache_reserve', '5GB', images='unused'),  # build cache is not a target
    case('max_deletions', -5, images='unused'),
    case('max_deletions', 'many'),
    case('state_path', 'relative/last-used.json'),
    case('sizes', 'some'),
]

# One case per connection option is enough for the facts module and the role: the same code checks them.
ONE_PER_ENGINE_OPTION = [item for item in ENGINE_CASES
                         if item['value'] not in ('/var/run/docker.sock', 'latest', 'soon', 1)]

FACTS_CASES = ONE_PER_ENGINE_OPTION + [case('no_such_option', 1, shown=None)] + [
    case('sizes', 'some'),
    case('detail', ['images', 'everything'], shown='everything'),
    case('detail_limit', -1),
    case('detail_limit', 'ten'),
]

# Role variables (cache_policy_<name>): argument specs, the role's own checks, then the modules'.
ROLE_CASES = [
    case('containers', 'sometimes'),
    case('images', 'everything'),
    case('networks', 'nope'),
    case('volumes', 'named'),
    case('build_cache', 'some'),
    case('older_than', '7 days'),
    case('age_basis', 'modified'),
    case('keep_images', {'nginx': 1}, shown=None),
    case('keep_images', ['nginx:[1'], shown='nginx:[1'),
    case('keep_labels', ['=oops'], shown='=oops'),
    case('keep_latest', -1),
    case('keep_latest', 'two'),
    case('protect_base_images', 'yesno'),
    case('max_cache_size', '20 gigs'),
    case('high_watermark_percent', '180'),
    case('low_watermark_percent', '80', high_watermark_percent='70'),
    case('low_watermark_percent', '70'),
    case('build_cache_reserve', '5 GB please'),
    case('max_deletions', -5),
    case('max_deletions', 'many'),
    case('state_path', 'relative/last-used.json'),
    case('gather_sizes', 'some'),
] + ONE_PER_ENGINE_OPTION  # role variables cannot be unknown keys: any name is a variable


def _check(results: List[Dict[str, Any]], cases: List[Dict[str, Any]], prefix: str = '') -> None:
    assert len(results) == len(cases)
    for result, expected in zip(results, cases):
        label = '%s%s=%r' % (prefix, expected['option'], expected['value'])
        assert result.get('failed') is True, '%s was accepted: %s' % (label, result)
        # a loop's failure (the role's own checks) carries the message in its items
        message = ' '.join([result.get('msg', '')] + [item.get('msg', '') for item in result.get('results', [])])
        assert prefix + expected['option'] in message or expected['option'] in message, (label, message)
        if expected['shown'] is not None:
            assert expected['shown'] in message, (label, message)
        assert 'Traceback' not in json.dumps(result), (label, result)


@pytest.fixture(name='untouched')
def untouched_fixture(fleet: Fleet):
    """The engine's full listing must be the same after the test."""
    host = fleet.host(HOST)
    before = engine_listing(host)
    yield
    assert engine_listing(host) == before


@pytest.mark.parametrize('module, cases', [('cachewarden.docker.docker_cache_prune', PRUNE_CASES),
                                           ('cachewarden.docker.docker_cache_facts', FACTS_CASES)],
                         ids=['docker_cache_prune', 'docker_cache_facts'])
def test_modules_refuse_bad_input(inventory: str, untouched: None, module: str, cases: List[Dict[str, Any]]) -> None:
    items = [{'id': index, 'args': dict(item['args'], state_path=item['args'].get('state_path', STATE))
              if module.endswith('prune') else item['args']} for index, item in enumerate(cases)]
    _check(run_cases(inventory, HOST, module, items)[0], cases)


ROLE_PLAYBOOK = """\
---
- name: Apply the role
  hosts: all
  gather_facts: false
  roles:
    - role: cachewarden.docker.cache_policy
"""


def test_role_refuses_bad_input(inventory: str, untouched: None, tmp_path: Path) -> None:
    cases_inventory = tmp_path / 'cases.yml'
    # Every alias removes nothing unless its case says otherwise.
    safe = {'cache_policy_containers': False, 'cache_policy_images': 'none', 'cache_policy_build_cache': 'none',
            'cache_policy_state_path': STATE}
    per_alias = [dict(safe, **{'cache_policy_' + name: value for name, value in item['args'].items()})
                 for item in ROLE_CASES]
    names = alias_inventory(inventory, HOST, per_alias, cases_inventory)
    playbook = tmp_path / 'role.yml'
    playbook.write_text(ROLE_PLAYBOOK, encoding='utf-8')
    tree = tmp_path / 'tree'
    completed = run_playbook(str(playbook), [str(cases_inventory)], env={
        'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1', 'ANSIBLE_CALLBACKS_ENABLED': 'tree',
        'ANSIBLE_CALLBACK_TREE_DIR': str(tree), 'ANSIBLE_FORKS': CASES_FORKS})
    assert completed.returncode != 0
    counts = recap(completed.stdout)
    results = []
    for name in names:  # the last result of each alias is its failure; the recap says it failed
        path = tree / name
        assert path.is_file(), completed.stdout[-3000:]
        results.append(dict(json.loads(path.read_text(encoding='utf-8')), failed=counts[name]['failed'] == 1))
    _check(results, ROLE_CASES, prefix='cache_policy_')
