# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every list of the policy's and the connection's option names is the same set as the modules' specs
(module_utils/policy.py and module_utils/connection.py are the source)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from ansible_collections.cachewarden.docker.plugins.doc_fragments import engine as engine_doc
from ansible_collections.cachewarden.docker.plugins.doc_fragments import policy as policy_doc
from ansible_collections.cachewarden.docker.plugins.module_utils.connection import ENGINE_ARGUMENT_SPEC
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import POLICY_ARGUMENT_SPEC
from ansible_collections.cachewarden.docker.plugins.modules import docker_cache_facts, docker_cache_prune

from sandbox import paths

REPO = paths.repo_root()
ROLE = REPO / 'roles' / 'cache_policy'
PREFIX = 'cache_policy_'
POLICY = set(POLICY_ARGUMENT_SPEC)
CONNECTION = set(ENGINE_ARGUMENT_SPEC)
# The role's own variables, not options of a module.
ROLE_ONLY = {'gather_sizes', 'report_path'}
# The AWX survey asks for what goes and what stays; the state file is a path on the managed host, set in
# inventory (playbooks/vars/awx_survey.yml says so).
NOT_IN_SURVEY = {'state_path'}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding='utf-8'))


def _unprefixed(names: Any) -> Set[str]:
    assert all(name.startswith(PREFIX) for name in names), sorted(names)
    return {name[len(PREFIX):] for name in names}


def _tasks() -> Dict[str, Dict[str, Any]]:
    """The options the role hands each module: the dicts of vars/main.yml, given to the modules as the
    module_defaults of the block that calls them (tasks/main.yml)."""
    values = _load(ROLE / 'vars' / 'main.yml')
    [block] = [task for task in _load(ROLE / 'tasks' / 'main.yml') if 'block' in task]
    assert block['module_defaults'] == {'cachewarden.docker.docker_cache_facts': '{{ __cache_policy_facts_args }}',
                                        'cachewarden.docker.docker_cache_prune': '{{ __cache_policy_prune_args }}'}
    assert '__cache_policy_shared_values' in values['__cache_policy_facts_args']
    assert '__cache_policy_policy_values' in values['__cache_policy_prune_args']
    assert '__cache_policy_shared_values' in values['__cache_policy_prune_args']
    shared = values['__cache_policy_shared_values']
    return {'docker_cache_facts': dict(shared), 'docker_cache_prune': dict(values['__cache_policy_policy_values'], **shared)}


def test_doc_fragments_document_the_specs():
    assert set(yaml.safe_load(policy_doc.ModuleDocFragment.DOCUMENTATION)['options']) == POLICY
    assert set(yaml.safe_load(engine_doc.ModuleDocFragment.DOCUMENTATION)['options']) == CONNECTION


def test_modules_take_the_policy_and_the_connection():
    assert set(docker_cache_prune.argument_spec()) == POLICY | CONNECTION | {'sizes', 'lock_timeout'}
    assert CONNECTION <= set(docker_cache_facts.argument_spec())
    assert not POLICY & set(docker_cache_facts.argument_spec())


@pytest.mark.parametrize('source', ['defaults/main.yml', 'meta/argument_specs.yml'])
def test_role_variables_are_the_options(source):
    data = _load(ROLE / source)
    names = data['argument_specs']['main']['options'] if 'argument_specs' in data else data
    assert _unprefixed(names) == POLICY | CONNECTION | ROLE_ONLY


def test_role_passes_every_option_to_the_modules():
    calls = _tasks()
    assert set(calls['docker_cache_prune']) == POLICY | CONNECTION | {'sizes'}
    assert set(calls['docker_cache_facts']) == CONNECTION | {'sizes'}
    for module, args in calls.items():
        for name, value in args.items():
            assert PREFIX + (name if name != 'sizes' else 'gather_sizes') in str(value), (module, name, value)


def test_awx_survey_asks_for_the_policy():
    survey = _load(REPO / 'playbooks' / 'vars' / 'awx_survey.yml')['cachewarden_awx_enforce_survey']['spec']
    assert _unprefixed([question['variable'] for question in survey]) == POLICY - NOT_IN_SURVEY


def test_enforce_playbook_maps_every_policy_option_with_the_module_default():
    """The keys a `cachewarden_policy` dict leaves out take the module's defaults (see the playbook)."""
    [play] = _load(REPO / 'playbooks' / 'enforce.yml')
    [mapping] = [task['ansible.builtin.set_fact'] for task in play['pre_tasks'] if 'ansible.builtin.set_fact' in task]
    assert _unprefixed(mapping) == POLICY
    for variable, template in mapping.items():
        name = variable[len(PREFIX):]
        found = re.fullmatch(r'\{\{ cachewarden_policy\.(\w+) \| default\((.*)\) \}\}', template)
        assert found and found.group(1) == name, template
        if name == 'max_deletions':  # the one exception: the role's cap, for safety
            assert found.group(2) == variable
        else:  # none: not set, so the module's default applies
            default = None if found.group(2) == 'none' else yaml.safe_load(found.group(2))
            assert default in (None, POLICY_ARGUMENT_SPEC[name].get('default')), template
