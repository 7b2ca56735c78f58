# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container created from a planned image between plan and delete: the image stays, reported as skipped.

The race is made deterministic by running the module's own steps in-process against a real engine
(through the host's socket) and creating the container between planning and applying.
"""

from __future__ import annotations

import pytest
from ansible_cli import run_module
from fleet_helpers import reset, sandbox_cli

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor, remaining_after
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot
from sandbox.fleet import Fleet, docker_client


@pytest.mark.parametrize('name', ['h1', 'h2'])
def test_container_created_after_planning_keeps_its_image(fleet: Fleet, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    engine = Engine({'docker_host': host.docker_host, 'api_version': 'auto', 'timeout': 60})
    policy = validate_policy({'images': 'unused', 'protect_base_images': False})
    plan = make_plan(read_snapshot(engine, image_detail=True), policy)
    planned = {item.id: item for item in plan.items if item.type == 'image' and item.action == 'remove'}
    single = next(item for item in planned.values() if len(item.names) == 1)
    several = next(item for item in planned.values() if len(item.names) > 1)
    client = docker_client(host)
    try:
        for item in (single, several):
            client.api.create_container(item.id, command=['true'], name='cw-race-%s' % item.id[7:19])
        outcome = Executor(engine, policy).run(plan)
        skipped = {entry['id']: entry['reason'] for entry in outcome.skipped}
        for item in (single, several):
            assert 'in use' in skipped[item.id], skipped
            assert item.id not in {removed.id for removed in outcome.removed}
            inspect = client.api.inspect_image(item.id)
            assert sorted(inspect['RepoTags']) == sorted(item.names), 'its tags must stay too'
        others = set(planned) - {single.id, several.id}
        removed_ids = {removed.id for removed in outcome.removed}
        assert outcome.errors == []
        assert others and all(i in removed_ids or 'in use' in skipped.get(i, '') for i in others), \
            'the rest of the plan still ran (a parent of a raced image may stay)'
        assert removed_ids
    finally:
        client.close()


def test_engine_gone_mid_run_reports_what_is_left(fleet: Fleet, inventory: str) -> None:
    """The engine stops after planning: the run says what was not done; after a restart a rerun finishes."""
    host = fleet.host('h3')
    reset(fleet, host)
    engine = Engine({'docker_host': host.docker_host, 'api_version': 'auto', 'timeout': 10})
    policy = validate_policy({'images': 'unused', 'containers': True})
    plan = make_plan(read_snapshot(engine, walk_sizes=True, image_detail=True), policy)
    assert plan.items
    assert sandbox_cli('fault', 'engine-stop', host.name).returncode == 0
    try:
        outcome = Executor(engine, policy).run(plan)
        assert outcome.interrupted and host.docker_host in outcome.interrupted
        assert remaining_after(outcome, plan) == plan.items and not outcome.removed
    finally:
        assert sandbox_cli('fault', 'engine-start', host.name).returncode == 0
    args = {'images': 'unused', 'containers': True, 'state_path': '/tmp/cw-state-%s.json' % host.name}
    first = run_module(inventory, host.name, 'cachewarden.docker.docker_cache_prune', args)[host.name]
    assert not first['failed'] and first['removed'] and first['not_done'] == []
    assert run_module(inventory, host.name, 'cachewarden.docker.docker_cache_prune', args)[host.name]['changed'] is False
