# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waves the executor deletes concurrently (consecutive items of one type and wave; a child never with its
parent) and how the outcome of one wave is recorded."""

from __future__ import annotations

import json
import threading
import time

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import EngineAPIError, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor, remaining_after, waves
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
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
    """Deletes succeed unless ``failures`` holds errors for the path (raised in order, then success).

    ``images`` maps an image ID or tag to what inspecting it returns (by default each ID answers with
    itself and the tag ``cw/<id>:1``); ``deletes`` maps a DELETE path to its answer; ``alive`` is
    whether ``/_ping`` answers; ``users`` is what the container listing returns.
    """

    def __init__(self, failures, images=None, deletes=None, alive=True, users=()):
        self.failures = {path: list(errors) for path, errors in failures.items()}
        self.images = images
        self.deletes = deletes or {}
        self.alive = alive
        self.users = list(users)
        self.deleted = []
        self.calls = []

    def ping(self):
        self.calls.append(('GET', '/_ping', None))
        return self.alive

    def get(self, path, params=None):
        self.calls.append(('GET', path, params))
        if path == '/containers/json':
            return self.users
        reference = path[len('/images/'):-len('/json')]
        if self.images is None:
            return {'Id': reference, 'RepoTags': ['cw/%s:1' % reference]}
        if reference not in self.images:
            raise EngineAPIError(404, 'No such image: %s' % reference)
        return self.images[reference]

    def delete(self, path, params=None):
        self.calls.append(('DELETE', path, params))
        errors = self.failures.get(path)
        if errors:
            raise errors.pop(0)
        self.deleted.append(path)
        return self.deletes.get(path)


def _run(failures, **engine_options):
    plan = Plan(items=[PlanItem('image', ident, ['cw/%s:1' % ident], 1, 'unused image') for ident in ('i1', 'i2', 'i3')])
    engine = ScriptedEngine(failures, **engine_options)
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
    _engine, plan, outcome = _run({'/images/i2': [EngineError('cannot reach the Docker engine')]}, alive=False)
    assert [item.id for item in outcome.removed] == ['i1', 'i3']
    assert outcome.interrupted == 'cannot reach the Docker engine'
    assert [item.id for item in remaining_after(outcome, plan)] == ['i2']


def test_a_delete_without_an_answer_while_the_engine_answers_is_tried_again_then_left_for_the_next_run():
    slow = EngineError('the Docker engine did not answer within timeout=60 seconds')
    engine, plan, outcome = _run({'/images/i2': [slow, slow]})
    assert [item.id for item in outcome.removed] == ['i1', 'i3'] and outcome.interrupted is None
    assert outcome.errors and 'no answer in time' in outcome.errors[0]
    assert [item.id for item in remaining_after(outcome, plan)] == ['i2']
    assert [call for call in engine.calls if call[:2] == ('DELETE', '/images/i2')].__len__() == 2


def test_a_slow_delete_that_succeeds_on_its_second_try_is_removed():
    slow = EngineError('the Docker engine did not answer within timeout=60 seconds')
    _engine, plan, outcome = _run({'/images/i2': [slow]})
    assert [item.id for item in outcome.removed] == ['i1', 'i2', 'i3'] and outcome.errors == []


def test_an_image_gone_before_its_delete_is_already_gone_not_removed():
    images = {'i1': {'Id': 'i1', 'RepoTags': ['cw/i1:1']}, 'i3': {'Id': 'i3', 'RepoTags': ['cw/i3:1']}}
    engine, _plan, outcome = _run({}, images=images)
    assert [item.id for item in outcome.removed] == ['i1', 'i3']
    assert [(entry['id'], entry['reason'][:12]) for entry in outcome.skipped] == [('i2', 'already gone')]
    assert ('DELETE', '/images/i2') not in [call[:2] for call in engine.calls]


def test_a_parent_the_engine_deleted_with_its_child_is_removed_by_this_run_without_a_call():
    child = PlanItem('image', 'child', ['cw/app:1'], 5, 'unused image', wave=-1)
    parent = PlanItem('image', 'parent', [], 3, 'untagged parent of a removed image', wave=0)
    engine = ScriptedEngine({}, images={'child': {'Id': 'child', 'RepoTags': ['cw/app:1']}},
                            deletes={'/images/child': [{'Untagged': 'cw/app:1'}, {'Deleted': 'child'},
                                                       {'Deleted': 'parent'}]})
    outcome = Executor(engine, validate_policy({'images': 'unused'})).run(Plan(items=[child, parent]))
    assert [item.id for item in outcome.removed] == ['child', 'parent'] and outcome.skipped == []
    assert [call[1] for call in engine.calls if call[0] == 'DELETE'] == ['/images/child']


def test_a_tag_moved_to_another_image_since_the_plan_is_left_alone():
    item = PlanItem('image', 'old', ['cw/app:1', 'cw/app:latest'], 5, 'unused image')
    engine = ScriptedEngine({}, images={'old': {'Id': 'old', 'RepoTags': ['cw/app:1', 'cw/app:latest']},
                                        'cw/app:1': {'Id': 'old'}, 'cw/app:latest': {'Id': 'new'}})
    outcome = Executor(engine, validate_policy({'images': 'unused'})).run(Plan(items=[item]))
    assert outcome.removed == [] and 'names another image' in outcome.skipped[0]['reason']
    assert '/images/cw/app:latest' not in engine.deleted


def test_an_image_tagged_since_the_plan_is_left_alone():
    item = PlanItem('image', 'img', [], 5, 'dangling image')
    engine = ScriptedEngine({}, images={'img': {'Id': 'img', 'RepoTags': ['cw/new:1']}})
    outcome = Executor(engine, validate_policy({'images': 'dangling'})).run(Plan(items=[item]))
    assert outcome.removed == [] and outcome.skipped[0]['reason'] == 'tagged cw/new:1 since the plan was made'
    assert engine.deleted == []


def test_a_network_a_container_names_since_the_plan_stays():
    item = PlanItem('network', 'n1', ['jobs'], 0, 'unused network')
    engine = ScriptedEngine({}, users=[{'Id': 'c1', 'Names': ['/job-42']}])
    outcome = Executor(engine, validate_policy({'networks': True})).run(Plan(items=[item]))
    assert outcome.removed == [] and outcome.skipped[0]['reason'] == 'container job-42 uses it since the plan was made'
    assert engine.deleted == []
    listing = [call for call in engine.calls if call[1] == '/containers/json'][0]
    assert json.loads(listing[2]['filters']) == {'network': ['jobs', 'n1']}


def test_each_image_names_its_family_the_oldest_ancestor_of_its_chain():
    base = image('base', layers=[('L1', 10)])
    mid = image('mid', parent=base, layers=[('L2', 20)])
    top = image('top', 'cw/app:1', parent=mid, layers=[('L3', 30)])
    other = image('other', 'cw/other:1', parent=mid, layers=[('L4', 40)])
    solo = image('solo', 'cw/solo:1', layers=[('S', 5)])
    plan = make_plan(snapshot(images=[base, mid, top, other, solo]), policy(images='unused', protect_base_images=False))
    assert {entry.id: entry.family for entry in plan.items} == {
        top.id: base.id, other.id: base.id, mid.id: base.id, base.id: base.id, solo.id: solo.id}


class _InFlight(ScriptedEngine):
    """Image deletes that overlap: each waits a little and records which images were in flight beside it."""

    def __init__(self):
        super().__init__({})
        self.lock = threading.Lock()
        self.flying = set()
        self.beside = []

    def delete(self, path, params=None):
        image_id = path.rsplit('/', 1)[-1]
        with self.lock:
            self.beside.append((image_id, set(self.flying)))
            self.flying.add(image_id)
        time.sleep(0.05)
        with self.lock:
            self.flying.discard(image_id)
        return super().delete(path, params)


def test_images_of_one_family_go_one_at_a_time_and_families_side_by_side():
    items = [PlanItem('image', ident, ['cw/%s:1' % ident], 0, 'test', family=family)
             for ident, family in (('a1', 'A'), ('a2', 'A'), ('a3', 'A'), ('b1', 'B'), ('c1', 'C'))]
    engine = _InFlight()
    executor = Executor(engine, validate_policy({'images': 'unused'}))
    executor._remove_wave(items)  # pylint: disable=protected-access
    assert sorted(item.id for item in executor.outcome.removed) == ['a1', 'a2', 'a3', 'b1', 'c1']
    for image_id, others in engine.beside:
        if image_id.startswith('a'):
            assert not {other for other in others if other.startswith('a')}, 'siblings in flight together'
    assert any(others for _image_id, others in engine.beside), 'families go side by side'
