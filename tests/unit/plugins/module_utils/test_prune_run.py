# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prune_run.released_cache: records the removed images held, taken in the same run when the policy selects them."""

from __future__ import annotations

from dataclasses import replace

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Outcome
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import released_cache
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, NOW, cache, policy, snapshot)


def _case(**options):
    before = snapshot(build_cache=[cache('held', 10, shared=True, last_used=NOW - 9 * DAY),
                                   cache('young', 20, shared=True, last_used=NOW - DAY),
                                   cache('kept', 30, shared=True, last_used=NOW - 9 * DAY),
                                   cache('planned', 40, last_used=NOW - 9 * DAY),
                                   cache('inner', 50, kind='internal', shared=True, last_used=NOW - 9 * DAY)])
    now = [replace(record, shared=record.id == 'kept') for record in before.build_cache]
    plan = Plan(items=[PlanItem('build_cache', 'planned', [], 40, 'unused build cache (regular)')])
    outcome = Outcome(removed=[PlanItem('image', 'sha256:app', ['cw/app:1'], 5, 'unused image')])
    return released_cache(before, plan, outcome, policy(**options), now)


def test_records_the_removed_images_released_are_taken_by_the_same_rules():
    released = _case(images='unused', build_cache='unused', older_than='7d')
    assert [item.id for item in released] == ['held']
    assert released[0].reason == 'released by the images this run removed (shared with them before)'
    assert [item.id for item in _case(images='unused', build_cache='all', older_than='7d')] == ['held', 'inner']
    assert [item.id for item in _case(images='unused', build_cache='all')] == ['held', 'young', 'inner']


def test_nothing_more_without_a_build_cache_target_or_with_a_reserve():
    assert _case(images='unused') == []
    assert _case(images='unused', build_cache='all', build_cache_reserve='1GB') == []
    under_budget = _case(images='unused', build_cache='all', max_cache_size='1GB')
    assert [item.id for item in under_budget] == ['held', 'young', 'inner'], 'their layers go only with them'
