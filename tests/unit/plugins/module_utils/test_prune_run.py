# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prune_run: records the removed images held, taken in the same run when the policy selects them."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor, Outcome
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import _prune_released_cache, released_cache
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, NOW, cache, policy, snapshot)


def _case(may_go=(), **options):
    before = snapshot(build_cache=[cache('held', 10, shared=True, last_used=NOW - 9 * DAY),
                                   cache('young', 20, shared=True, last_used=NOW - DAY),
                                   cache('kept', 30, shared=True, last_used=NOW - 9 * DAY),
                                   cache('planned', 40, last_used=NOW - 9 * DAY),
                                   cache('inner', 50, kind='internal', shared=True, last_used=NOW - 9 * DAY)])
    now = [replace(record, shared=record.id == 'kept') for record in before.build_cache]
    plan = Plan(items=[PlanItem('build_cache', 'planned', [], 40, 'unused build cache (regular)')],
                may_release=[PlanItem('build_cache', record_id, [], 1, 'may go') for record_id in may_go])
    outcome = Outcome(removed=[PlanItem('image', 'sha256:app', ['cw/app:1'], 5, 'unused image')])
    return released_cache(before, plan, outcome, policy(**options), now)


def test_records_the_removed_images_released_are_taken_by_the_same_rules():
    released = _case(images='unused', build_cache='unused', older_than='7d')
    assert [item.id for item in released] == ['held']
    assert released[0].reason == 'released by the images this run removed (shared with them before)'
    assert [item.id for item in _case(images='unused', build_cache='all', older_than='7d')] == ['held', 'inner']
    assert [item.id for item in _case(images='unused', build_cache='all')] == ['held', 'young', 'inner']


def test_a_record_the_plan_listed_as_may_go_says_so():
    released = _case(may_go=['held'], images='unused', build_cache='unused', older_than='7d')
    assert released[0].reason == 'released by the images this run removed (listed by the plan as may go)'


def test_nothing_more_without_a_build_cache_target_or_with_a_reserve():
    assert _case(images='unused') == []
    assert _case(images='unused', build_cache='all', build_cache_reserve='1GB') == []
    under_budget = _case(images='unused', build_cache='all', max_cache_size='1GB')
    assert [item.id for item in under_budget] == ['held', 'young', 'inner'], 'their layers go only with them'


class _BuildKit:
    """Build cache as BuildKit prunes it: a record goes only once no record built on it is left. ``parents`` is
    hidden from the listing, as from Docker 26.1; ``shared`` records are never pruned."""

    api_version = '1.45'

    def __init__(self, parents, shared):
        self.parents = dict(parents)
        self.shared = set(shared)

    def supports(self, _minimum):
        return True

    def get(self, path, params=None):
        assert path == '/system/df'
        return {'BuildCache': [{'ID': record, 'Shared': record in self.shared, 'InUse': False, 'Size': 1,
                                'LastUsedAt': '2020-01-01T00:00:00Z'} for record in self.parents]}

    def post(self, path, params=None):
        assert path == '/build/prune'
        (pattern,) = json.loads(params['filters'])['id']
        deleted = []
        for record in sorted(self.parents, reverse=True):  # children ('b...') before parents ('a...')
            held = any(record in parents for other, parents in self.parents.items() if other != record)
            if re.search(pattern, record) and record not in self.shared and not held:
                del self.parents[record]
                deleted.append(record)
        return {'CachesDeleted': deleted}


def test_a_planned_record_its_released_child_held_goes_in_the_same_run():
    """[1/4] COPY (planned, set free with the image) is held by the RUN record above it, whose 0-byte layer the
    plan could not tie to the image (no parents from 26.1): once that child is released, the parent goes too."""
    before = snapshot(build_cache=[cache('a-parent', 10, shared=True), cache('b-child', 0, shared=True)])
    engine = _BuildKit({'a-parent': [], 'b-child': ['a-parent']}, shared={'b-child'})
    plan = Plan(items=[PlanItem('build_cache', 'a-parent', [], 0, 'any build cache (regular), set free by the images')])
    executor = Executor(engine, policy(images='unused', build_cache='all'), sleep=lambda _seconds: None)
    outcome = executor.run(plan)
    outcome.removed.append(PlanItem('image', 'sha256:app', ['cw/app:1'], 5, 'unused image'))
    assert [entry['id'] for entry in outcome.skipped] == ['a-parent'], 'held by its child while that is shared'
    engine.shared.clear()  # the image that held the child is gone
    _prune_released_cache(engine, executor, before, plan, policy(images='unused', build_cache='all'))
    assert {item.id for item in outcome.removed} == {'sha256:app', 'a-parent', 'b-child'}
    assert outcome.skipped == [] and not engine.parents
