# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_detail.py: the per-image entries a run keeps for the next, and how far a damaged section is trusted;
prune_run.plan_with_fresh_tag_times: an entry's old tag time never decides that an image goes."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import (
    DETAIL_KEY, DetailCache, ImageDetail, apply_detail, detail_of, engine_key, from_state, to_state)
from ansible_collections.cachewarden.docker.plugins.module_utils.image_plan import tag_times_matter
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import (
    plan_with_fresh_tag_times, stored_detail)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Layer
from ansible_collections.cachewarden.docker.plugins.module_utils.usage_state import fold_in, load_state, save_state
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, NOW, image, policy, snapshot)

BASE = Layer('sha256:base', 1000, '/bin/sh -c #(nop) ADD file:a in /')
TOP = Layer('sha256:top', 24, 'COPY app /srv/app # buildkit')
WEB = Layer('sha256:web', 8192, 'COPY web /srv/web # buildkit')


def _cache() -> DetailCache:
    return DetailCache(engine=engine_key('ENGINE-1', 'overlay2'), images={
        'sha256:one': ImageDetail(1024, ('app:1',), NOW - DAY, 1699.5, -1, (BASE, TOP), True),
        'sha256:two': ImageDetail(1000, (), 0, 1600.0, -1, (BASE,), None),
        'sha256:three': ImageDetail(1024, ('web:1',), NOW, 1700.0, 900, (BASE, WEB), True, config_bytes=626,
                                    layer_blobs=(700, 3457)),
    })


def test_round_trip_through_json_keeps_every_field_and_each_layer_once():
    stored = json.loads(json.dumps(to_state(_cache())))
    assert len(stored['layers']) == 3, 'the shared base layer is stored once'
    assert from_state(stored) == _cache()


@pytest.mark.parametrize('section', [None, [], 'x', {'engine': 1, 'layers': [], 'images': {}},
                                     {'engine': 'e', 'layers': {}, 'images': {}}, {'engine': 'e', 'layers': []}])
def test_a_section_of_another_layout_is_not_used(section):
    assert from_state(section) is None


@pytest.mark.parametrize('damage', [
    lambda entry, layers: entry.__setitem__(0, 'big'),          # listed size not a number
    lambda entry, layers: entry.__setitem__(0, True),           # a bool is not a size
    lambda entry, layers: entry.__setitem__(1, [3]),            # tags not strings
    lambda entry, layers: entry.__setitem__(3, float('nan')),   # creation not finite
    lambda entry, layers: entry.__setitem__(5, [7]),            # a layer position past the table
    lambda entry, layers: entry.__setitem__(5, [-1]),           # a negative position
    lambda entry, layers: entry.__setitem__(6, 'yes'),          # buildkit not true/false/null
    lambda entry, layers: entry.__delitem__(slice(6, None)),    # too short
    lambda entry, layers: entry.__setitem__(7, 'big'),          # the config's size not a number
    lambda entry, layers: layers[1].__setitem__(1, -5),         # its layer's size is negative
    lambda entry, layers: entry.__setitem__(8, [1, 2, 3]),      # layer blob sizes for 3 layers of 2
    lambda entry, layers: entry.__setitem__(8, [1, -3]),        # a negative blob size
    lambda entry, layers: entry.__setitem__(8, 'big'),          # blob sizes not a list
    lambda entry, layers: entry.append('x'),                    # 10 fields
])
def test_a_damaged_entry_is_left_out_alone(damage):
    stored = json.loads(json.dumps(to_state(_cache())))
    damage(stored['images']['sha256:one'], stored['layers'])
    cache = from_state(stored)
    assert cache is not None
    assert set(cache.images) == {'sha256:two', 'sha256:three'}


def test_an_entry_stands_for_an_image_only_while_the_listing_agrees():
    detail = _cache().images['sha256:one']
    listed = image('one', 'app:1', layers=[('sha256:base', 1000), ('sha256:top', 24)])
    assert detail.fits(listed, containerd_store=False)
    listed.size = 1025
    assert not detail.fits(listed, containerd_store=False), 'another listed size'
    wrong_sum = ImageDetail(1025, ('app:1',), 0, 0.0, -1, (BASE, TOP), True, config_bytes=1400)
    assert not wrong_sum.fits(listed, containerd_store=False), 'on a graphdriver store the layers add up to the size'
    assert wrong_sum.fits(listed, containerd_store=True), 'not on the containerd store'
    older = ImageDetail(1025, ('app:1',), 0, 0.0, -1, (BASE, TOP), True)
    assert not older.fits(listed, containerd_store=True), "an older run's entry has no config size: read again"
    stored = to_state(DetailCache(engine='e', images={'sha256:one': older}))
    del stored['images']['sha256:one'][7:]  # as an older run wrote it: 7 fields
    assert from_state(stored).images['sha256:one'] == older
    stored['images']['sha256:one'].append(1400)  # 8 fields: no layer blob sizes
    assert from_state(stored).images['sha256:one'] == ImageDetail(1025, ('app:1',), 0, 0.0, -1, (BASE, TOP), True, 1400)
    del stored['config_estimate']  # written before the config estimate changed: read again
    assert from_state(stored).images['sha256:one'].config_bytes == -1


def test_an_exported_config_size_stays_whatever_estimate_wrote_the_file():
    stored = json.loads(json.dumps(to_state(_cache())))
    stored['config_estimate'] = 1
    stored['images']['sha256:one'][7] = 1400  # an estimate of the older way
    cache = from_state(stored)
    assert cache.images['sha256:three'] == _cache().images['sha256:three'], 'read from an export: exact'
    assert cache.images['sha256:one'].config_bytes == -1


def test_detail_of_and_apply_detail_carry_the_same_fields():
    source = image('one', 'app:1', layers=[('sha256:base', 1000), ('sha256:top', 24)], last_tagged=NOW - 5)
    source.created_precise, source.buildkit, source.layer_blobs = 1699.25, True, [600, 20]
    detail = detail_of(source, source.size, buildkit_known=True)
    assert detail is not None and detail.buildkit is True
    assert detail_of(source, source.size, buildkit_known=False).buildkit is None
    target = image('one', 'app:1')
    apply_detail(target, detail)
    assert (target.layers, target.last_tagged, target.created_precise, target.buildkit, target.layer_blobs) == (
        source.layers, source.last_tagged, source.created_precise, source.buildkit, source.layer_blobs)
    source.layers = None
    assert detail_of(source, source.size, buildkit_known=True) is None, 'unpaired layers are read again'


def test_the_state_file_carries_the_section_and_a_run_without_detail_keeps_it(tmp_path):
    path = str(tmp_path / 'state.json')
    host = snapshot(images=[image('one', 'app:1', layers=[('sha256:base', 1000)])])
    host.image_detail = _cache()
    assert save_state(path, fold_in({'version': 1, 'events_until': 0, 'images': {}}, host)) is None
    state, warning = load_state(path, now=NOW)
    assert warning is None and from_state(state[DETAIL_KEY]) == _cache()
    without = snapshot(images=[])
    assert fold_in(state, without)[DETAIL_KEY] == state[DETAIL_KEY]
    other = snapshot(images=[image('two', 'app:2', layers=[('sha256:base', 1000)])])
    other.image_detail = DetailCache(engine='another')
    assert fold_in(state, other, with_detail=False)[DETAIL_KEY] is state[DETAIL_KEY], 'not written out again'
    assert fold_in(state, other)[DETAIL_KEY] != state[DETAIL_KEY]


def test_a_damaged_section_is_a_warning_not_a_failure():
    warnings = []
    assert stored_detail({'images': {}, DETAIL_KEY: ['junk']}, warnings) is None
    assert len(warnings) == 1 and 'per-image detail' in warnings[0]
    warnings.clear()
    assert stored_detail({'images': {}}, warnings) is None and warnings == []


@pytest.mark.parametrize('options, matters', [
    ({'images': 'unused'}, False),
    ({'images': 'unused', 'older_than': '7d'}, True),
    ({'images': 'unused', 'older_than': '7d', 'age_basis': 'created'}, False),
    ({'images': 'unused', 'max_cache_size': '1GB'}, True),
    ({'images': 'unused', 'high_watermark_percent': 80}, True),
])
def test_tag_times_matter_where_the_policy_orders_by_last_use(options, matters):
    assert tag_times_matter(policy(**options)) is matters


class _TagTimes:
    """Answers image inspects with the engine's tag times, and counts them."""

    def __init__(self, tagged):
        self.tagged = dict(tagged)
        self.inspected = []

    def get(self, path, params=None):
        image_id = path.split('/')[2]
        self.inspected.append(image_id)
        return {'Metadata': {'LastTagTime': '2023-11-14T22:13:20Z' if self.tagged[image_id] == NOW else
                             '2023-11-04T22:13:20Z'}}


def _old_host():
    old = image('old', 'app:old', layers=[('sha256:o', 10)], last_tagged=NOW - 10 * DAY, created=NOW - 20 * DAY)
    retagged = image('retagged', 'app:new', layers=[('sha256:r', 10)], last_tagged=NOW - 10 * DAY,
                     created=NOW - 20 * DAY)
    host = snapshot(images=[old, retagged])
    host.cached_tag_times = {old.id, retagged.id}
    return host, old, retagged


def test_an_image_tagged_again_since_its_entry_is_kept():
    """Both entries say tagged 10 days ago; the engine says one was tagged again now (a build that ended on the
    same image): with a 7-day limit on last use only the other goes, and only the images the plan took are read."""
    host, old, retagged = _old_host()
    engine = _TagTimes({old.id: NOW - 10 * DAY, retagged.id: NOW})
    plan = plan_with_fresh_tag_times(engine, host, policy(images='unused', older_than='7d'), {})
    assert [item.id for item in plan.items] == [old.id]
    assert sorted(engine.inspected) == sorted([old.id, retagged.id])
    assert host.cached_tag_times == set()
    engine.inspected.clear()
    again = plan_with_fresh_tag_times(engine, host, policy(images='unused', older_than='7d'), {})
    assert [item.id for item in again.items] == [old.id]
    assert engine.inspected == [], 'read once'


def test_no_tag_time_is_read_where_the_policy_does_not_order_by_last_use():
    host, old, retagged = _old_host()
    engine = _TagTimes({old.id: NOW, retagged.id: NOW})
    plan = plan_with_fresh_tag_times(engine, host, policy(images='unused'), {})
    assert {item.id for item in plan.items} == {old.id, retagged.id}
    assert engine.inspected == []


def test_under_a_budget_the_next_least_recently_used_image_is_read_before_it_is_taken():
    host, old, retagged = _old_host()
    host_copy = copy.deepcopy(host)
    engine = _TagTimes({old.id: NOW, retagged.id: NOW - 10 * DAY})
    plan = plan_with_fresh_tag_times(engine, host_copy, policy(images='unused', max_cache_size='15B'), {})
    assert [item.id for item in plan.items] == [retagged.id], 'old was tagged again now: the other is older'
