# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-image detail a run keeps in the state file: a read that uses it sees what a fresh read sees, with no
per-image engine call on an unchanged host, and an image tagged again since keeps its new tag time.

Read in-process through each host's socket (h1: 20.10 overlay2, h2: 28.5 containerd store), the oracle being a
fresh read of the same engine without the entries.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Tuple

import pytest
from counting_engine import CountingEngine
from fleet_helpers import cli, reset

from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import from_state, to_state
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import run_prune
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Snapshot
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot
from ansible_collections.cachewarden.docker.plugins.module_utils.usage_state import load_state
from sandbox.fleet import Fleet, Host

POLICIES: List[Dict[str, Any]] = [
    {'images': 'unused', 'protect_base_images': False, 'build_cache': 'all', 'containers': True},
    {'images': 'dangling', 'build_cache': 'unused'},
    {'images': 'unused', 'max_cache_size': '1B', 'build_cache': 'all'},
    {'images': 'unused', 'older_than': '1s', 'build_cache': 'unused'},  # the seed tagged them seconds ago
]


def _per_image(engine: CountingEngine) -> int:
    return engine.count(lambda path: path.startswith('/images/sha256:'))


def _first_read(fleet: Fleet, name: str) -> Tuple[Host, CountingEngine, Snapshot]:
    """The host freshly seeded, and a first read of it (no entries)."""
    host = fleet.host(name)
    reset(fleet, host)
    engine = CountingEngine(host.docker_host)
    return host, engine, read_snapshot(engine, image_detail=True)


def _detail(snapshot: Snapshot) -> Dict[str, Any]:
    return {image.id: (image.layers, image.last_tagged, image.created_precise, image.content_size, image.buildkit,
                       image.config_bytes, image.layer_blobs) for image in snapshot.images}


@pytest.mark.parametrize('name', ['h1', 'h2'])
def test_a_read_with_the_entries_sees_what_a_fresh_read_sees(fleet: Fleet, name: str) -> None:
    _host, engine, first = _first_read(fleet, name)
    assert _per_image(engine) >= len(first.images) > 5
    # The containerd store's seed has images sharing layers no image ends at (cw/web, cw/app): one is exported.
    assert engine.count(lambda path: path.endswith('/get')) == (1 if name == 'h2' else 0)
    # through the state file's JSON form, as the next run gets it
    stored = from_state(json.loads(json.dumps(to_state(first.image_detail))))
    engine.paths.clear()
    warm = read_snapshot(engine, image_detail=True, known=stored)
    assert _per_image(engine) == 0, 'an unchanged host needs no per-image read'
    assert warm.cached_tag_times == {image.id for image in warm.images}
    fresh = read_snapshot(engine, image_detail=True)
    assert _detail(warm) == _detail(fresh)
    fresh.taken_at = warm.taken_at  # one "now" for the age limits of both plans
    for options in POLICIES:
        policy = validate_policy(options)
        warm_plan, fresh_plan = make_plan(warm, policy), make_plan(fresh, policy)
        assert warm_plan.items, options
        assert [item.as_dict() for item in warm_plan.items] == [item.as_dict() for item in fresh_plan.items], options
        assert warm_plan.skipped == fresh_plan.skipped, options


@pytest.mark.parametrize('name', ['h1', 'h2'])
def test_only_new_images_and_new_tags_are_read(fleet: Fleet, name: str) -> None:
    host, engine, first = _first_read(fleet, name)
    tagged = next(image for image in first.images if image.tags)
    cli(host, 'tag', tagged.id, 'cw-detail/extra:1')
    engine.paths.clear()
    warm = read_snapshot(engine, image_detail=True, known=first.image_detail)
    assert _per_image(engine) == 1, 'one inspect, for the image whose tags changed'
    assert tagged.id not in warm.cached_tag_times
    assert _detail(warm) == _detail(read_snapshot(engine, image_detail=True))


def _last_tag_time(host, image_id: str) -> str:
    return json.loads(cli(host, 'image', 'inspect', image_id))[0]['Metadata']['LastTagTime']


def test_an_image_tagged_again_since_the_last_run_is_not_taken_by_age(fleet: Fleet, tmp_path) -> None:
    """The state holds the image's tag time of the first run; tagging it again with the same tag (what a build
    that ends on the same image does) moves the engine's tag time but not its tags. With a limit on last use,
    the entry's old time would plan it: the run reads it again and keeps it. On a graphdriver store (h1): the
    containerd store (28.5) leaves the tag time as it was when a tag is set again."""
    host = fleet.host('h1')
    reset(fleet, host)
    options = {'images': 'unused', 'older_than': '10s', 'state_path': str(tmp_path / 'state.json')}
    engine = CountingEngine(host.docker_host)
    candidate = next(image for image in read_snapshot(engine).images if image.tags and not image.containers)
    cli(host, 'tag', candidate.id, 'cw-detail/again:1')
    first = run_prune(engine, validate_policy(options), check_mode=False)
    assert first.failed is None, first.failed
    assert candidate.id not in {item['id'] for item in first.result['removed']}, 'tagged just now'
    time.sleep(11)
    before = _last_tag_time(host, candidate.id)
    cli(host, 'tag', candidate.id, 'cw-detail/again:1')
    assert _last_tag_time(host, candidate.id) != before, 'precondition: the engine moved its tag time'
    state, _warning = load_state(options['state_path'])
    stale = read_snapshot(engine, image_detail=True, known=from_state(state['image_detail']))
    assert candidate.id in {item.id for item in make_plan(stale, validate_policy(options)).items}, \
        'precondition: the entry alone would plan it'
    check = run_prune(engine, validate_policy(options), check_mode=True)
    assert candidate.id not in {item['id'] for item in check.result['plan']}
    real = run_prune(engine, validate_policy(options), check_mode=False)
    assert real.failed is None and candidate.id not in {item['id'] for item in real.result['removed']}
    assert any(image.id == candidate.id for image in read_snapshot(engine).images)
