# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waves the executor deletes concurrently (consecutive items of one type and wave; a child never with its
parent) and how the outcome of one wave is recorded."""

from __future__ import annotations

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import EngineAPIError, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor, remaining_after, waves
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import Plan, PlanItem, make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    container, image, policy, snapshot)


def _item(kind, ident, wave=0):
    return PlanItem(kind, ident, [], 0, 'test', wave=wave)


def test_waves_group_consecutive_items_of_one_type_and_wave():
    items = [_item('container', 'c1'), _item('container', 'c2'), _item('image', 'i1', -2), _item('image', 'i2', -1),
             _item('image', 'i3', -1), _item('volume', 'v1'), _item('network', 'n1')]
    assert [[entry.id for entry in wave] for wave in waves(items)] == [['c1', 'c2'], ['i1'], ['i2', 'i3'], ['v1'], ['n1']]
    assert not list(waves([]))


def test_wave_is_not_part_of_results_or_equality():
    assert _item('image', 'i1', -3) == _item('image', 'i1', 0)
    assert 'wave' not in _item('image', 'i1', -3).as_dict()


def test_children_are_deleted_in_an_earlier_wave_than_their_parents():
    base = image('base', layers=[('L1', 10)])
    mid = image('mid', parent=base, layers=[('L2', 20)])
    top = image('top', 'cw/app:1', parent=mid, layers=[('L3', 30)])
    other = image('other', 'cw/other:1', parent=mid, layers=[('L4', 40)])
    solo = image('solo', 'cw/solo:1', layers=[('S', 5)])
    used = image('used', 'cw/used:1', layers=[('U', 5)])
    plan = make_plan(snapshot(images=[base, mid, top, other, solo, used], containers=[container('c', used, state='running')]),
                     policy(images='unused', protect_base_images=False))
    groups = [[entry.id for entry in wave] for wave in waves(plan.items)]
    assert groups == [sorted([top.id, other.id]), [mid.id], sorted([base.id, solo.id])]
    by_id = {entry.id: entry for entry in plan.items}
    for child, parent in ((top, mid), (other, mid), (mid, base)):
        assert by_id[child.id].wave < by_id[parent.id].wave


# ---------------------------------------------------------------- one wave against a scripted engine
class ScriptedEngine:
    """Deletes succeed unless ``failures`` holds errors for the path (raised in order, then success)."""

    def __init__(self, failures):
        self.failures = {path: list(errors) for path, errors in failures.items()}
        self.deleted = []

    def delete(self, path, params=None):
        errors = self.failures.get(path)
        if errors:
            raise errors.pop(0)
        self.deleted.append(path)


def _run(failures):
    plan = Plan(items=[PlanItem('image', ident, ['cw/%s:1' % ident], 1, 'unused image') for ident in ('i1', 'i2', 'i3')])
    engine = ScriptedEngine(failures)
    return engine, plan, Executor(engine, validate_policy({'images': 'unused'})).run(plan)


def test_an_unexpected_error_in_a_wave_is_tried_again_alone():
    engine, plan, outcome = _run({'/images/i2': [EngineAPIError(500, 'layer busy')]})
    assert [item.id for item in outcome.removed] == ['i1', 'i2', 'i3'] and outcome.errors == []
    assert sorted(engine.deleted) == ['/images/i1', '/images/i2', '/images/i3']
    assert remaining_after(outcome, plan) is None


def test_an_error_that_stays_is_reported_once_and_the_rest_goes_on():
    _engine, plan, outcome = _run({'/images/i2': [EngineAPIError(500, 'broken')] * 2})
    assert [item.id for item in outcome.removed] == ['i1', 'i3']
    assert outcome.errors == ['image i2: broken'] and outcome.interrupted is None
    assert [item.id for item in remaining_after(outcome, plan)] == ['i2']


def test_a_conflict_in_a_wave_is_a_skip_without_a_second_try():
    engine, _plan, outcome = _run({'/images/i3': [EngineAPIError(409, 'in use by c1')]})
    assert [entry['id'] for entry in outcome.skipped] == ['i3'] and '/images/i3' not in engine.deleted


def test_the_engine_gone_mid_wave_keeps_what_succeeded_and_stops():
    _engine, plan, outcome = _run({'/images/i2': [EngineError('cannot reach the Docker engine')]})
    assert [item.id for item in outcome.removed] == ['i1', 'i3']
    assert outcome.interrupted == 'cannot reach the Docker engine'
    assert [item.id for item in remaining_after(outcome, plan)] == ['i2']
