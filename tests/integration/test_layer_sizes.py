# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer sizes derived from image sizes (fewer history reads) plan exactly like layer sizes read from every history.

The snapshot is read in-process through the host's socket; the reference reads the history of every image.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List

import pytest
from counting_engine import CountingEngine
from fleet_helpers import reset

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import layers_from_history
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Snapshot
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot
from sandbox.fleet import Fleet

POLICIES: List[Dict[str, Any]] = [
    {'images': 'unused', 'protect_base_images': False, 'build_cache': 'all', 'containers': True},
    {'images': 'dangling', 'build_cache': 'unused'},
    {'images': 'unused', 'max_cache_size': '1B', 'build_cache': 'all'},
]


def _with_every_history(engine: Engine, snapshot: Snapshot) -> Snapshot:
    """The same snapshot with each image's layers and BuildKit flag taken from its own history."""
    images = []
    for image in snapshot.images:
        history = engine.get('/images/%s/history' % image.id)
        diff_ids = engine.get('/images/%s/json' % image.id)['RootFS'].get('Layers') or []
        images.append(dataclasses.replace(
            image, layers=layers_from_history(diff_ids, history),
            buildkit=any((step.get('Comment') or '').startswith('buildkit') for step in history)))
    return dataclasses.replace(snapshot, images=images)


@pytest.mark.parametrize('name', ['h1', 'h2'])
def test_derived_layer_sizes_plan_like_every_history(fleet: Fleet, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    engine = CountingEngine(host.docker_host)
    snapshot = read_snapshot(engine, image_detail=True)
    derived_reads = engine.count(lambda path: path.endswith('/history'))
    reference = _with_every_history(engine, snapshot)
    graphdriver = snapshot.engine.image_store != 'containerd'
    assert len(snapshot.images) > 5
    if graphdriver:
        assert derived_reads < len(snapshot.images), 'some sizes were derived'
        assert [image.layers for image in snapshot.images] == [image.layers for image in reference.images]
    for options in POLICIES:
        policy = validate_policy(options)
        derived_plan, full_plan = make_plan(snapshot, policy), make_plan(reference, policy)
        assert derived_plan.items, options
        assert [item.as_dict() for item in derived_plan.items] == [item.as_dict() for item in full_plan.items], options
        assert derived_plan.skipped == full_plan.skipped and derived_plan.budget == full_plan.budget, options
