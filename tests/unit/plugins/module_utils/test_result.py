# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""result.py: the docker_cache_prune result in check mode and after a run."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Outcome
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import TYPE_ORDER, Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import policy_summary
from ansible_collections.cachewarden.docker.plugins.module_utils.facts import cache_facts
from ansible_collections.cachewarden.docker.plugins.module_utils.result import (
    SKIPPED_LIMIT, prune_result, usage_bytes)
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    cache, container, image, network, policy, snapshot, volume)

POLICY = dict(containers=True, images='unused', volumes='all', networks=True, build_cache='all',
              keep_images=['cw/keep:*'])


def _host():
    a = image('a', 'cw/a:1', layers=[('S', 100), ('A', 10)])
    b = image('b', 'cw/b:1', layers=[('S', 100), ('B', 20)])
    kept = image('kept', 'cw/keep:1', layers=[('K', 1000)])
    job = container('job', a, state='exited', size_rw=3, volumes=['scratch'], networks=['jobs'])
    web = container('web', kept, state='running', size_rw=4, volumes=['data'])
    return snapshot(images=[a, b, kept], containers=[job, web],
                    volumes=[volume('scratch', size=50), volume('data', size=60)],
                    networks=[network('bridge'), network('jobs')],
                    build_cache=[cache('bc1', 7), cache('bc2', 9, shared=True)])


def _after(before, removed):
    gone = {(item.type, item.id) for item in removed}
    fresh = _host()
    assert [img.id for img in fresh.images] == [img.id for img in before.images]
    return snapshot(images=[i for i in fresh.images if ('image', i.id) not in gone],
                    containers=[c for c in fresh.containers if ('container', c.id) not in gone],
                    volumes=[v for v in fresh.volumes if ('volume', v.name) not in gone],
                    networks=[n for n in fresh.networks if ('network', n.id) not in gone],
                    build_cache=[r for r in fresh.build_cache if ('build_cache', r.id) not in gone])


def _plan(before):
    pol = policy(**POLICY)
    return make_plan(before, pol), policy_summary(pol)


def test_usage_bytes():
    assert usage_bytes(_host()) == {'container': 7, 'image': 1130, 'volume': 110, 'network': 0, 'build_cache': 7}


def test_check_mode_reports_the_plan_and_changes_nothing():
    before = _host()
    plan, summary = _plan(before)
    assert plan.items, 'the scenario must plan something'
    result = prune_result(plan, None, before, None, summary)
    assert result['changed'] is True
    assert result['removed'] == [] and result['reclaimed_bytes'] == 0 and result['errors'] == []
    assert result['plan'] == [item.as_dict() for item in plan.items]
    assert result['predicted_bytes'] == plan.predicted_bytes == 3 + 130 + 50 + 7
    assert 'skipped' not in result and 'skipped_items' in result
    assert result['skipped_items'] == plan.skipped and result['skipped_total'] == len(plan.skipped)
    assert result['policy'] == summary
    for kind in TYPE_ORDER:
        assert result['summary'][kind]['removed'] == 0 and result['summary'][kind]['reclaimed_bytes'] == 0
        assert result['summary'][kind]['planned'] == plan.summary()[kind]['count']
        assert result['summary'][kind]['predicted_bytes'] == plan.summary()[kind]['bytes']
    assert result['diff']['before'] == ('container: 2 objects, 7 bytes\n'
                                        'image: 3 objects, 1130 bytes\n'
                                        'volume: 2 objects, 110 bytes\n'
                                        'network: 2 objects, 0 bytes\n'
                                        'build_cache: 2 objects, 7 bytes\n')
    # The predicted state: the plan's counts and bytes taken off.
    assert result['diff']['after'] == ('container: 1 objects, 4 bytes\n'
                                       'image: 1 objects, 1000 bytes\n'
                                       'volume: 1 objects, 60 bytes\n'
                                       'network: 1 objects, 0 bytes\n'
                                       'build_cache: 1 objects, 0 bytes\n')  # the shared record stays
    assert 'ansible_facts' not in result and 'budget' not in result


def test_check_mode_with_an_empty_plan_is_unchanged():
    before = _host()
    result = prune_result(Plan(), None, before, None, {})
    assert result['changed'] is False
    assert result['plan'] == [] and result['predicted_bytes'] == 0
    assert result['diff']['before'] == result['diff']['after']


def test_predicted_usage_never_goes_below_zero():
    """The containerd store may count a layer BuildKit holds in the image row while the plan credits the build
    cache with it: the predicted "after" of the diff stays at zero instead of going negative."""
    before = _host()
    plan = Plan(items=[PlanItem(type='build_cache', id='bc1', names=[], bytes=500, reason='unused build cache')])
    result = prune_result(plan, None, before, None, {})
    assert 'build_cache: 1 objects, 0 bytes\n' in result['diff']['after']
    assert result['predicted_bytes'] == 500


def test_after_a_run():
    before = _host()
    plan, summary = _plan(before)
    done, refused = plan.items[:-1], plan.items[-1]
    outcome = Outcome(removed=list(done), errors=['network x: boom'],
                      skipped=[{'type': refused.type, 'id': refused.id, 'names': refused.names,
                                'reason': 'the engine kept it (in use)'}])
    after = _after(before, done)
    result = prune_result(plan, outcome, before, after, summary, set_facts=True)
    assert result['changed'] is True
    assert result['removed'] == [item.as_dict() for item in done]
    assert result['errors'] == ['network x: boom']
    assert result['ansible_facts'] == {'docker_cache': cache_facts(after)}
    assert result['docker_cache_before'] == cache_facts(before), 'one call gives both sides'
    assert result['docker_cache_before']['disk_usage'] != cache_facts(after)['disk_usage']
    assert result['skipped_total'] == len(plan.skipped) + 1
    assert result['skipped_items'][-1]['reason'].startswith('the engine kept it')
    for kind in TYPE_ORDER:
        removed = sum(1 for item in done if item.type == kind)
        assert result['summary'][kind]['removed'] == removed
        assert result['summary'][kind]['planned'] == sum(1 for item in plan.items if item.type == kind)
        assert result['summary'][kind]['reclaimed_bytes'] == usage_bytes(before)[kind] - usage_bytes(after)[kind]
    assert result['summary'][refused.type]['skipped'] >= 1
    assert result['reclaimed_bytes'] == sum(usage_bytes(before).values()) - sum(usage_bytes(after).values())
    assert result['summary']['image']['reclaimed_bytes'] == 130
    assert 'objects' in result['diff']['after'] and result['diff']['after'] != result['diff']['before']


def test_a_run_that_removed_nothing_is_unchanged():
    before = _host()
    plan, summary = _plan(before)
    outcome = Outcome(skipped=[{'type': item.type, 'id': item.id, 'names': item.names, 'reason': 'already gone'}
                               for item in plan.items])
    result = prune_result(plan, outcome, before, before, summary)
    assert plan.items and result['changed'] is False
    assert result['removed'] == [] and result['reclaimed_bytes'] == 0
    assert result['skipped_total'] == len(plan.skipped) + len(plan.items)
    assert result['predicted_bytes'] == plan.predicted_bytes  # what was predicted stays on record


def test_skipped_items_are_bounded_but_counted():
    plan = Plan(skipped=[{'type': 'image', 'id': 'sha256:%06d' % n, 'names': [], 'reason': 'keep_images: x'}
                         for n in range(SKIPPED_LIMIT + 25)])
    result = prune_result(plan, None, _host(), None, {})
    assert len(result['skipped_items']) == SKIPPED_LIMIT
    assert result['skipped_total'] == SKIPPED_LIMIT + 25
    assert result['summary']['image']['skipped'] == SKIPPED_LIMIT + 25
    assert 'skipped' not in result


@pytest.mark.parametrize('budget', [{}, {'cache_bytes': 10, 'bytes_to_free': 0}])
def test_budget_is_reported_when_there_is_one(budget):
    result = prune_result(Plan(budget=budget), None, _host(), None, {})
    assert result.get('budget') == (budget or None)


def test_check_mode_sets_the_facts_of_the_engine_as_it_is():
    before = _host()
    plan, summary = _plan(before)
    result = prune_result(plan, None, before, None, summary, set_facts=True)
    assert result['ansible_facts'] == {'docker_cache': cache_facts(before)}
    assert result['ansible_facts']['docker_cache'] == result['docker_cache_before']


def test_containerd_counts_a_containers_writable_snapshot_once():
    """The engine counts it in LayersSize and as SizeRw: the container row takes the snapshot, the image row
    leaves it out, so removing the container frees its snapshot's bytes and no image bytes."""
    before = _host()
    before.engine = dataclasses.replace(before.engine, image_store='containerd')
    gone = before.containers[0]
    gone.snapshot_bytes, gone.size_rw = 1019904, 1007616
    before.layers_size += gone.snapshot_bytes
    after = copy.deepcopy(before)
    after.containers = [c for c in after.containers if c.id != gone.id]
    after.layers_size -= gone.snapshot_bytes
    plan = Plan(items=[PlanItem('container', gone.id, gone.names, gone.disk_bytes, 'stopped container')])
    result = prune_result(plan, Outcome(removed=list(plan.items)), before, after, {})
    assert result['summary']['container']['reclaimed_bytes'] == result['predicted_bytes'] == 1019904
    assert result['summary']['image']['reclaimed_bytes'] == 0


def test_containerd_counts_a_pruned_records_blob_under_build_cache_alone():
    """Measured on 28.5 (random seed 101, build_cache_reserve): a record no image holds, whose layer an image once
    exported, keeps the layer's blob; its size is snapshot + blob, LayersSize holds the snapshot only. Pruning it
    makes LayersSize fall by the snapshot; with the blob the executor measured, the image row stays put and the
    build cache row falls by the whole record, as the disk does."""
    before = _host()
    before.engine = dataclasses.replace(before.engine, image_store='containerd')
    snap, blob = 28672, 19005
    record = before.build_cache[0]
    record.size = snap + blob
    before.layers_size += snap
    after = copy.deepcopy(before)
    after.build_cache = [r for r in after.build_cache if r.id != record.id]
    after.layers_size -= snap
    plan = Plan(items=[PlanItem('build_cache', record.id, ['regular'], record.size, 'any build cache (regular)')])
    unmeasured = prune_result(plan, Outcome(removed=list(plan.items)), before, after, {})
    assert unmeasured['summary']['image']['reclaimed_bytes'] == -blob, 'the defect the measurement mends'
    result = prune_result(plan, Outcome(removed=list(plan.items), cache_blob_bytes=blob), before, after, {})
    assert result['summary']['image']['reclaimed_bytes'] == 0
    assert result['summary']['build_cache']['reclaimed_bytes'] == result['predicted_bytes'] == snap + blob
    assert result['reclaimed_bytes'] == snap + blob and result['cache_blob_bytes'] == blob


def test_check_mode_says_what_may_go_besides_the_plan():
    plan = Plan(items=[PlanItem('image', 'sha256:a', ['cw/a:1'], 16930, 'unused image')],
                may_release=[PlanItem('build_cache', 'r1', ['[build 2/3] COPY src /src'], 151552, 'may go'),
                             PlanItem('build_cache', 'r2', ['mount / from exec true'], 16384, 'may go')])
    result = prune_result(plan, None, _host(), None, {})
    assert result['msg'] == ('would remove 1 items, 16.93 kB would be freed; 2 more build cache records (167.9 kB) '
                             'may go with the images (see may_release)')
    assert [item['id'] for item in result['may_release']] == ['r1', 'r2'] and result['predicted_bytes'] == 16930
