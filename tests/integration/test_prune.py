# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_cache_prune over SSH on freshly seeded real engines: the same as docker image prune, the deletion
cap, budgets and watermarks (the policy table is in test_prune_policies.py)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest
from ansible_cli import run_module
from fleet_helpers import cli, engine_listing, image_signatures, pairs, reset
from prune_helpers import MODULE, ids, prune, state_path

from sandbox.fleet import Fleet, Host

HOSTS = ('h1', 'h2')


@pytest.mark.parametrize('images, cli_args', [('dangling', ['-f']), ('unused', ['-a', '-f'])])
def test_same_as_docker_image_prune(fleet: Fleet, inventory: str, images: str, cli_args: List[str]) -> None:
    """On identically seeded twins, images=dangling/unused leaves exactly what docker image prune [-a] leaves."""
    for pair in pairs(fleet):
        host, twin = pair['host'], pair['twin']
        reset(fleet, host, twin)
        assert image_signatures(host) == image_signatures(twin), 'twins must start identical'
        prune(inventory, {'images': images, 'protect_base_images': False, 'state_path': state_path()},
              pattern=host.name)
        cli(twin, 'image', 'prune', *cli_args)
        assert image_signatures(host) == image_signatures(twin), host.engine


def test_max_deletions_stops_before_anything_goes(fleet: Fleet, inventory: str) -> None:
    """Over the cap: failure naming the cap, the plan in the result, nothing removed."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    before = {host.name: engine_listing(host) for host in hosts}
    policy = {'images': 'unused', 'containers': True, 'max_deletions': 2, 'state_path': state_path()}
    results = run_module(inventory, 'h1:h2', MODULE, policy)
    for host in hosts:
        result = results[host.name]
        assert result['failed'] is True
        assert 'max_deletions=2' in result['msg']
        assert len(result['plan']) > 2 and result['removed'] == []
        assert engine_listing(host) == before[host.name]


def _last_used_key(host: Host, image_id: str) -> Tuple[int, int]:
    from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import parse_timestamp  # pylint: disable=import-outside-toplevel
    data = json.loads(cli(host, 'image', 'inspect', image_id))[0]
    created = parse_timestamp(data.get('Created'))
    return max(created, parse_timestamp((data.get('Metadata') or {}).get('LastTagTime'))), created


def _facts(inventory: str, name: str) -> Dict[str, Any]:
    return run_module(inventory, name, 'cachewarden.docker.docker_cache_facts')[name]['ansible_facts']['docker_cache']


def test_budget_takes_least_recently_used_first(fleet: Fleet, inventory: str) -> None:
    """With a budget that half of the removable images meet, the chosen ones are the least recently used."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    ordered: List[str] = []
    for host in hosts:
        cache = _facts(inventory, host.name)['cache_bytes']
        # Without base protection the order is plain least recently used (protection may hold back an older base).
        policy = {'images': 'unused', 'protect_base_images': False, 'state_path': state_path()}
        unbudgeted = prune(inventory, policy, check=True, pattern=host.name)[host.name]
        budget = cache - unbudgeted['predicted_bytes'] // 2
        plan = prune(inventory, dict(policy, max_cache_size=str(budget)), check=True, pattern=host.name)[host.name]
        assert plan['budget']['bytes_to_free'] == cache - budget
        chosen = [item['id'] for item in plan['plan'] if 'least recently used' in item['reason']]
        kept = [entry['id'] for entry in plan['skipped_items'] if entry['reason'] == 'budget met']
        assert chosen, plan['plan']
        if kept:  # the newest image may hold most of the bytes: then everything goes
            assert max(_last_used_key(host, i) for i in chosen) <= min(_last_used_key(host, i) for i in kept)
            ordered.append(host.name)
        assert plan['predicted_bytes'] >= cache - budget
    assert 'h1' in ordered, 'the overlay2 scenario leaves some images to the budget'


def test_budget_run_ends_under_the_budget(fleet: Fleet, inventory: str) -> None:
    """max_cache_size over images and build cache: images first, then build cache, until under it."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    for host in hosts:
        cache = _facts(inventory, host.name)['cache_bytes']
        budget = cache - 3_000_000
        result = prune(inventory, {'images': 'unused', 'build_cache': 'all', 'max_cache_size': str(budget),
                                   'state_path': state_path()}, pattern=host.name)[host.name]
        assert result['changed'] is True
        after = result['ansible_facts']['docker_cache']['cache_bytes']
        assert after <= budget, (after, budget, result['summary'])
        kinds = {item['type'] for item in result['removed']}
        assert {'image', 'build_cache'} <= kinds, result['summary']
        assert prune(inventory, {'images': 'unused', 'build_cache': 'all', 'max_cache_size': str(budget),
                                 'state_path': state_path()}, pattern=host.name)[host.name]['changed'] is False


def test_watermarks(fleet: Fleet, inventory: str) -> None:
    """Below the high mark nothing goes; above it, enough is planned to reach the low mark."""
    host = fleet.host('h1')
    reset(fleet, host)
    facts = run_module(inventory, host.name, 'cachewarden.docker.docker_cache_facts')[host.name]
    fs = facts['ansible_facts']['docker_cache']['filesystem']
    below = prune(inventory, {'images': 'unused', 'high_watermark_percent': str(min(fs['used_percent'] + 5, 100)),
                              'state_path': state_path()}, check=True, pattern=host.name)[host.name]
    assert below['plan'] == [] and below['changed'] is False
    # The disk is the machine's: other tests (the other xdist worker) write and free tens of MB on it meanwhile, so
    # the marks sit well below the usage just read; everything removable is then planned (the LRU stop at a size is
    # covered by the budget tests above and by the planner's unit tests).
    total = fs['used_bytes'] + fs['free_bytes']
    low = 100.0 * (fs['used_bytes'] - 201_000_000) / total
    high = 100.0 * (fs['used_bytes'] - 200_000_000) / total
    above = prune(inventory, {'images': 'unused', 'high_watermark_percent': '%.6f' % high,
                              'low_watermark_percent': '%.6f' % low, 'state_path': state_path()},
                  check=True, pattern=host.name)[host.name]
    assert above['budget']['bytes_to_free'] > above['predicted_bytes'] > 0
    assert not any(entry['reason'] == 'budget met' for entry in above['skipped_items'])
    everything = prune(inventory, {'images': 'unused', 'state_path': state_path()}, check=True,
                       pattern=host.name)[host.name]
    assert ids(above['plan']) == ids(everything['plan'])


@pytest.mark.parametrize('sizes', [False, True])
def test_one_call_returns_the_facts_before(fleet: Fleet, inventory: str, sizes: bool) -> None:
    """docker_cache_before holds what docker_cache_facts reads; sizes walks container layers and volumes for those
    facts even when neither is a target (engines before API 1.42 always walk them). Check mode: nothing changes."""
    hosts = [fleet.host(name) for name in HOSTS]
    before = {host.name: engine_listing(host) for host in hosts}
    results = run_module(inventory, 'h1:h2', MODULE, {'images': 'dangling', 'sizes': sizes, 'state_path': state_path()},
                         check=True)
    gathered = run_module(inventory, 'h1:h2', 'cachewarden.docker.docker_cache_facts', {'sizes': sizes})
    for host in hosts:
        result, facts = results[host.name], gathered[host.name]['ansible_facts']['docker_cache']
        assert not result.get('failed'), result.get('msg')
        seen = result['docker_cache_before']
        assert seen == result['ansible_facts']['docker_cache'], 'check mode: the facts are the engine as it is'
        for key in ('engine', 'images', 'base_images', 'sizes_computed'):
            assert seen[key] == facts[key], key
        for kind in ('images', 'build_cache', 'containers', 'volumes'):
            assert seen['disk_usage'][kind] == facts['disk_usage'][kind], kind
        walked = sizes or seen['engine']['api_version'] == '1.41'
        assert seen['sizes_computed'] is walked, seen['engine']
        assert engine_listing(host) == before[host.name]
