# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy table: check-mode plan == real run, predicted == freed bytes, second run unchanged, on freshly
seeded real engines over SSH (20.10 overlay2, 28.5 containerd store)."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from fleet_helpers import engine_listing, reset
from prune_helpers import ids, prune, state_path

from sandbox.fleet import Fleet, Host

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
    args = dict(policy, state_path=state_path())
    before = {host.name: engine_listing(host) for host in hosts}
    checked = prune(inventory, args, check=True)
    for host in hosts:
        assert engine_listing(host) == before[host.name], 'check mode changed %s' % host.name
        assert checked[host.name]['removed'] == []
        assert checked[host.name]['changed'] is bool(checked[host.name]['plan'])
    applied = prune(inventory, args)
    for host in hosts:
        plan, run = checked[host.name], applied[host.name]
        # Build cache records that the removed images held become free only once the images are gone, and
        # the API does not say which image holds which record (docs/prune.md): the run takes them at once,
        # with their own reason, and they must be records the check saw as shared.
        released = [item for item in run['removed'] if item['reason'].startswith('released by the images')]
        assert {item['id'] for item in released} <= set(before[host.name]['build_cache']), host.name
        assert all(item['type'] == 'build_cache' for item in released), host.name
        assert ids([item for item in run['removed'] if item not in released]) == ids(plan['plan']), \
            (host.name, run['skipped'], run['errors'])
        assert run['plan'] == plan['plan'], host.name
        assert run['changed'] is bool(run['removed'])
        assert run['errors'] == []
        _assert_close(host, run, plan)
        listing = engine_listing(host)
        gone = {(kind, ident) for kind, ident, action in ids(run['removed']) if action == 'remove'}
        present = {('image', i) for i, _t in listing['images']} | {('container', c) for c, _s in listing['containers']} \
            | {('volume', v) for v in listing['volumes']} | {('network', n) for n in listing['networks']} \
            | {('build_cache', b) for b in listing['build_cache']}
        assert not gone & present, 'removed items still on %s' % host.name
        before_all = {('image', i) for i, _t in before[host.name]['images']} \
            | {('container', c) for c, _s in before[host.name]['containers']} \
            | {('volume', v) for v in before[host.name]['volumes']} | {('network', n) for n in before[host.name]['networks']} \
            | {('build_cache', b) for b in before[host.name]['build_cache']}
        assert before_all - present == gone, 'something outside the plan went on %s' % host.name
    again = prune(inventory, args)
    for host in hosts:
        assert again[host.name]['changed'] is False, again[host.name]['plan']
    assert any(applied[h.name]['plan'] for h in hosts), 'the scenario gives this policy something to do'
