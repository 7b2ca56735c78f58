# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waves the executor deletes concurrently: consecutive items of one type and wave; a child never with its parent."""

from __future__ import annotations

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import waves
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import PlanItem, make_plan
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
