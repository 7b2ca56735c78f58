# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_cache_prune over SSH on freshly seeded real engines (20.10 overlay2, 28.5 containerd store)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Set, Tuple

import pytest
from ansible_cli import run_module
from fleet_helpers import cli, engine_listing, image_signatures, pairs, reset

from sandbox.fleet import Fleet, Host

MODULE = 'cachewarden.docker.docker_cache_prune'
HOSTS = ('h1', 'h2')

POLICIES: List[Dict[str, Any]] = [
    {'containers': True},
    {'images': 'dangling'},
    {'images': 'unused'},
    {'images': 'unused', 'protect_base_images': False},
    {'images': 'unused', 'keep_images': ['cw/app:*', 'registry.example.com/base/*']},
    {'images': 'unused', 'keep_latest': 1},
    {'images': 'unused', 'keep_labels': ['base_image']},
    {'images': 'unused', 'older_than': '30d', 'age_basis': 'created'},
    {'build_cache': 'unused'},
    {'build_cache': 'all', 'older_than': '1s', 'age_basis': 'created'},
    {'build_cache': 'all', 'build_cache_reserve': '4MB'},
    {'containers': True, 'volumes': 'anonymous'},
    {'volumes': 'all'},
    {'networks': True},
    {'containers': True, 'images': 'unused', 'networks': True, 'volumes': 'anonymous', 'build_cache': 'all'},
]


def _state_path() -> str:
    return '/tmp/cw-state-%s.json' % uuid.uuid4().hex


def _ids(items: List[Dict[str, Any]]) -> Set[Tuple[str, str, str]]:
    return {(item['type'], item['id'], item.get('action', 'remove')) for item in items}


def _prune(inventory: str, args: Dict[str, Any], check: bool = False, pattern: str = 'h1:h2') -> Dict[str, Dict]:
    results = run_module(inventory, pattern, MODULE, args, check=check)
    for name, result in results.items():
        assert not result.get('failed'), (name, result.get('msg'), result)
    return results


# How the containerd store counts (docs/prune.md): each container's init snapshot sits with the
# image layers, content blobs shared between images are not in SharedSize (so image bytes are an
# estimate), and an image layer BuildKit also holds moves to the build cache instead of being freed.
INIT_SNAPSHOT_SLACK = 32 * 1024
CONTAINERD_IMAGE_TOLERANCE = 0.25


def _assert_close(host: Host, run: Dict[str, Any], plan: Dict[str, Any]) -> None:
    """Bytes freed as predicted: within 1 % on overlay2; per type as documented on the containerd store."""
    predicted, reclaimed = plan['predicted_bytes'], run['reclaimed_bytes']
    if host.store != 'containerd':
        assert abs(predicted - reclaimed) <= max(0.01 * max(predicted, reclaimed), 4096), (predicted, reclaimed)
        return
    summary, planned = run['summary'], plan['summary']
    assert abs(summary['container']['reclaimed_bytes'] - planned['container']['predicted_bytes']) <= 4096, summary
    image_predicted, image_reclaimed = planned['image']['predicted_bytes'], summary['image']['reclaimed_bytes']
    if planned['build_cache']['planned']:
        # The containerd store counts build cache snapshots among image layers too (docs/prune.md):
        # the engine's own numbers double-count them, so only the build cache row is compared.
        assert summary['build_cache']['reclaimed_bytes'] > 0 or not planned['build_cache']['predicted_bytes']
        return
    # Layers BuildKit also holds leave the image row for the build cache row: compare what left both.
    net_reclaimed = image_reclaimed + summary['build_cache']['reclaimed_bytes']
    slack = CONTAINERD_IMAGE_TOLERANCE * max(image_predicted, net_reclaimed) + 4096 \
        + INIT_SNAPSHOT_SLACK * summary['container']['removed']
    assert abs(image_predicted - net_reclaimed) <= slack, summary


@pytest.mark.parametrize('policy', POLICIES, ids=[json.dumps(p, sort_keys=True) for p in POLICIES])
def test_check_plan_equals_real_run(fleet: Fleet, inventory: str, policy: Dict[str, Any]) -> None:
    """Check mode changes nothing; the real run removes exactly the plan and frees what it predicted;
    a second run reports unchanged."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    args = dict(policy, state_path=_state_path())
    before = {host.name: engine_listing(host) for host in hosts}
    checked = _prune(inventory, args, check=True)
    for host in hosts:
        assert engine_listing(host) == before[host.name], 'check mode changed %s' % host.name
        assert checked[host.name]['removed'] == []
        assert checked[host.name]['changed'] is bool(checked[host.name]['plan'])
    applied = _prune(inventory, args)
    for host in hosts:
        plan, run = checked[host.name], applied[host.name]
        assert _ids(run['removed']) == _ids(plan['plan']), host.name
        assert run['plan'] == plan['plan'], host.name
        assert run['changed'] is bool(run['removed'])
        assert run['errors'] == []
        _assert_close(host, run, plan)
        listing = engine_listing(host)
        gone = {(kind, ident) for kind, ident, action in _ids(run['removed']) if action == 'remove'}
        present = {('image', i) for i, _t in listing['images']} | {('container', c) for c, _s in listing['containers']} \
            | {('volume', v) for v in listing['volumes']} | {('network', n) for n in listing['networks']} \
            | {('build_cache', b) for b in listing['build_cache']}
        assert not gone & present, 'removed items still on %s' % host.name
        before_all = {('image', i) for i, _t in before[host.name]['images']} \
            | {('container', c) for c, _s in before[host.name]['containers']} \
            | {('volume', v) for v in before[host.name]['volumes']} | {('network', n) for n in before[host.name]['networks']} \
            | {('build_cache', b) for b in before[host.name]['build_cache']}
        assert before_all - present == gone, 'something outside the plan went on %s' % host.name
    again = _prune(inventory, args)
    for host in hosts:
        assert again[host.name]['changed'] is False, again[host.name]['plan']
    assert any(applied[h.name]['plan'] for h in hosts), 'the scenario gives this policy something to do'


@pytest.mark.parametrize('images, cli_args', [('dangling', ['-f']), ('unused', ['-a', '-f'])])
def test_same_as_docker_image_prune(fleet: Fleet, inventory: str, images: str, cli_args: List[str]) -> None:
    """On identically seeded twins, images=dangling/unused leaves exactly what docker image prune [-a] leaves."""
    for pair in pairs(fleet):
        host, twin = pair['host'], pair['twin']
        reset(fleet, host, twin)
        assert image_signatures(host) == image_signatures(twin), 'twins must start identical'
        _prune(inventory, {'images': images, 'protect_base_images': False, 'state_path': _state_path()},
               pattern=host.name)
        cli(twin, 'image', 'prune', *cli_args)
        assert image_signatures(host) == image_signatures(twin), host.engine


def test_max_deletions_stops_before_anything_goes(fleet: Fleet, inventory: str) -> None:
    """Over the cap: failure naming the cap, the plan in the result, nothing removed."""
    hosts = [fleet.host(name) for name in HOSTS]
    reset(fleet, *hosts)
    before = {host.name: engine_listing(host) for host in hosts}
    policy = {'images': 'unused', 'containers': True, 'max_deletions': 2, 'state_path': _state_path()}
    results = run_module(inventory, 'h1:h2', MODULE, policy)
    for host in hosts:
        result = results[host.name]
        assert result['failed'] is True
        assert 'max_deletions=2' in result['msg']
        assert len(result['plan']) > 2 and result['removed'] == []
        assert engine_listing(host) == before[host.name]


def _last_used_key(host: Host, image_id: str) -> Tuple[int, int]:
    from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import parse_timestamp  # pylint: disable=import-outside-toplevel
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
        policy = {'images': 'unused', 'protect_base_images': False, 'state_path': _state_path()}
        unbudgeted = _prune(inventory, policy, check=True, pattern=host.name)[host.name]
        budget = cache - unbudgeted['predicted_bytes'] // 2
        plan = _prune(inventory, dict(policy, max_cache_size=str(budget)), check=True, pattern=host.name)[host.name]
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
        result = _prune(inventory, {'images': 'unused', 'build_cache': 'all', 'max_cache_size': str(budget),
                                    'state_path': _state_path()}, pattern=host.name)[host.name]
        assert result['changed'] is True
        after = result['ansible_facts']['docker_cache']['cache_bytes']
        assert after <= budget, (after, budget, result['summary'])
        kinds = {item['type'] for item in result['removed']}
        assert {'image', 'build_cache'} <= kinds, result['summary']
        assert _prune(inventory, {'images': 'unused', 'build_cache': 'all', 'max_cache_size': str(budget),
                                  'state_path': _state_path()}, pattern=host.name)[host.name]['changed'] is False


def test_watermarks(fleet: Fleet, inventory: str) -> None:
    """Below the high mark nothing goes; above it, enough is planned to reach the low mark."""
    host = fleet.host('h1')
    reset(fleet, host)
    facts = run_module(inventory, host.name, 'cachewarden.docker.docker_cache_facts')[host.name]
    fs = facts['ansible_facts']['docker_cache']['filesystem']
    below = _prune(inventory, {'images': 'unused', 'high_watermark_percent': str(min(fs['used_percent'] + 5, 100)),
                               'state_path': _state_path()}, check=True, pattern=host.name)[host.name]
    assert below['plan'] == [] and below['changed'] is False
    total = fs['used_bytes'] + fs['free_bytes']
    low = 100.0 * (fs['used_bytes'] - 2_000_000) / total
    high = 100.0 * (fs['used_bytes'] - 1_000_000) / total
    above = _prune(inventory, {'images': 'unused', 'high_watermark_percent': '%.6f' % high,
                               'low_watermark_percent': '%.6f' % low, 'state_path': _state_path()},
                   check=True, pattern=host.name)[host.name]
    assert above['budget']['bytes_to_free'] > 0
    assert above['plan']
    met = any(entry['reason'] == 'budget met' for entry in above['skipped_items'])
    # Either enough is planned to reach the low mark, or everything removable is planned.
    assert above['predicted_bytes'] >= above['budget']['bytes_to_free'] or not met
