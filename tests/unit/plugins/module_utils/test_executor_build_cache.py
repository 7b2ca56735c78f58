# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""executor.py: build cache records pruned by name, many per call, against an engine that behaves like
BuildKit's prune (the id filter is a regular expression; a record goes only once no record builds on it)."""

from __future__ import annotations

import json
import re

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import (
    CACHE_IDS_PER_CALL, CACHE_RELEASE_TRIES, PRUNE_BACKOFF_SECONDS, Executor, record_id_pattern, remaining_after)
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy


class PruningEngine:
    """Records by ID with their parents; ``stuck`` records are never released."""

    def __init__(self, parents, stuck=(), api_at_least=True):
        self.records = dict(parents)
        self.stuck = set(stuck)
        self.calls = []
        self.api_at_least = api_at_least
        self.api_version = '1.47' if api_at_least else '1.41'

    def supports(self, _minimum):
        return self.api_at_least

    def get(self, path, params=None):
        """GET /system/df as the executor reads it after the tries: stuck records are in use."""
        assert path == '/system/df'
        return {'BuildCache': [{'ID': record, 'InUse': record in self.stuck, 'Shared': False}
                               for record in self.records]}

    def post(self, path, params=None):
        assert path == '/build/prune'
        self.calls.append(params)
        (pattern,) = json.loads(params['filters'])['id']
        matching = {record for record in self.records if re.search(pattern, record)}
        deleted = []
        progress = True
        while progress:  # children first, within the one call
            progress = False
            for record in sorted(matching - set(deleted) - self.stuck):
                if not any(record in parents for other, parents in self.records.items() if other != record):
                    deleted.append(record)
                    del self.records[record]
                    progress = True
        return {'CachesDeleted': deleted, 'SpaceReclaimed': len(deleted)}


def _plan(record_ids):
    return Plan(items=[PlanItem('build_cache', record_id, ['regular'], 1, 'any build cache (regular)')
                       for record_id in record_ids])


def test_the_pattern_matches_exactly_the_named_ids():
    pattern = record_id_pattern(['abc', 'x1y2'])
    assert pattern == '^(abc|x1y2)$'
    assert re.search(pattern, 'abc') and re.search(pattern, 'x1y2')
    assert not re.search(pattern, 'abcd') and not re.search(pattern, 'zabc') and not re.search(pattern, 'x1y')
    assert record_id_pattern(['a.b']) == r'^(a\.b)$' and not re.search(record_id_pattern(['a.b']), 'axb')


def test_a_chain_goes_in_one_call_whatever_the_order():
    # r1 <- r2 <- r3 (r3 built on r2 built on r1), named parents first: BuildKit orders them itself.
    engine = PruningEngine({'r1': [], 'r2': ['r1'], 'r3': ['r2'], 'other': []})
    outcome = Executor(engine, validate_policy({'build_cache': 'all'})).run(_plan(['r1', 'r2', 'r3']))
    assert len(engine.calls) == 1 and engine.calls[0]['all'] == 1
    assert sorted(item.id for item in outcome.removed) == ['r1', 'r2', 'r3']
    assert list(engine.records) == ['other'], 'a record outside the plan stays'
    assert remaining_after(outcome, _plan(['r1', 'r2', 'r3'])) is None


def test_many_records_are_split_over_calls():
    ids = ['rec%03d' % number for number in range(CACHE_IDS_PER_CALL * 2 + 5)]
    engine = PruningEngine({record_id: [] for record_id in ids})
    outcome = Executor(engine, validate_policy({'build_cache': 'all'})).run(_plan(ids))
    assert len(engine.calls) == 3 and len(outcome.removed) == len(ids) and not engine.records
    named = [json.loads(call['filters'])['id'][0] for call in engine.calls]
    assert named[0] == record_id_pattern(ids[:CACHE_IDS_PER_CALL])
    assert named[2] == record_id_pattern(ids[2 * CACHE_IDS_PER_CALL:])


def test_records_the_engine_keeps_are_tried_again_then_skipped():
    engine = PruningEngine({'r1': [], 'r2': []}, stuck={'r2'})
    sleeps = []
    outcome = Executor(engine, validate_policy({'build_cache': 'all'}), sleep=sleeps.append).run(_plan(['r1', 'r2']))
    assert [item.id for item in outcome.removed] == ['r1']
    assert [(entry['id'], entry['reason']) for entry in outcome.skipped] == [
        ('r2', 'the engine kept it: in use since the plan was made')]
    assert len(engine.calls) == CACHE_RELEASE_TRIES
    assert [json.loads(call['filters'])['id'][0] for call in engine.calls[1:]] == ['^(r2)$'] * (CACHE_RELEASE_TRIES - 1)
    assert sleeps == [PRUNE_BACKOFF_SECONDS * attempt for attempt in range(1, CACHE_RELEASE_TRIES)]


def test_a_record_someone_else_removed_is_already_gone_not_kept():
    engine = PruningEngine({'r1': []})
    outcome = Executor(engine, validate_policy({'build_cache': 'all'}), sleep=lambda _s: None).run(_plan(['r1', 'gone']))
    assert [item.id for item in outcome.removed] == ['r1']
    assert [(entry['id'], entry['reason']) for entry in outcome.skipped] == [
        ('gone', 'already gone (removed by someone else since the plan was made)')]


def test_the_reserve_is_the_plans_not_the_engines():
    """The plan keeps the reserve by naming records; the engine gets no keep-storage / reserved-space of its own."""
    for newer in (True, False):
        engine = PruningEngine({'r1': []}, api_at_least=newer)
        Executor(engine, validate_policy({'build_cache': 'all', 'build_cache_reserve': '1MB'})).run(_plan(['r1']))
        assert 'keep-storage' not in engine.calls[0] and 'reserved-space' not in engine.calls[0]
        assert len(engine.calls) == 1


class BlobEngine(PruningEngine):
    """The containerd store: each record's size is its snapshot + a blob, and LayersSize counts the snapshots."""

    def __init__(self, parents, snapshots):
        super().__init__(parents)
        self.snapshots = dict(snapshots)
        self.layers_reads = []

    def get(self, path, params=None):
        if params == {'type': ['image']}:
            self.layers_reads.append(len(self.calls))
            return {'LayersSize': 1000 + sum(self.snapshots[record] for record in self.records)}
        return super().get(path, params)


def test_records_no_image_held_are_pruned_first_between_two_reads_that_measure_their_blobs():
    engine = BlobEngine({'free': [], 'held': [], 'child': ['held']}, {'free': 300, 'held': 50, 'child': 70})
    sizes = {'free': 300 + 40, 'held': 0, 'child': 70 + 5}
    plan = Plan(items=[PlanItem('build_cache', record, ['regular'], sizes[record], 'r')
                       for record in ('held', 'free', 'child')])
    outcome = Executor(engine, validate_policy({'build_cache': 'all'}), sleep=lambda _s: None,
                       blob_watch=frozenset({'free', 'child'})).run(plan)
    assert [json.loads(call['filters'])['id'] for call in engine.calls] == [
        [record_id_pattern(['free', 'child'])], [record_id_pattern(['held'])]]
    assert engine.layers_reads == [0, 1], 'LayersSize is read just before and just after the watched call'
    assert outcome.cache_blob_bytes == 45
    assert {item.id for item in outcome.removed} == {'free', 'held', 'child'}


def test_no_watched_record_no_extra_read():
    engine = BlobEngine({'a': []}, {'a': 10})
    outcome = Executor(engine, validate_policy({'build_cache': 'all'}), sleep=lambda _s: None).run(_plan(['a']))
    assert engine.layers_reads == [] and outcome.cache_blob_bytes == 0
