# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both shapes of `GET /system/df`, on answers built from the engine's API description (moby
api/docs/v1.51.yaml and v1.52.yaml: the SystemDataUsageResponse schema, the example values of ImageSummary,
ContainerSummary, Volume and BuildCache, and the v1.52 CHANGELOG entry about the legacy fields).
No Docker 29 engine can be installed on the project's machines, so these answers stand in for it."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.disk_usage import disk_usage_query, legacy_disk_usage
from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import add_df_sizes, parse_build_cache, parse_images

IMAGE = {
    'Id': 'sha256:ec3f0931a6e6b6855d76b2d7b0be30e81860baccd891b2e243280bf1cd8ad710',
    'ParentId': '',
    'RepoTags': ['example:1.0', 'example:latest'],
    'RepoDigests': ['example@sha256:afcc7f1ac1b49db317a7196c902e61c6c3c4607d63599ee1a82d702d249a0ccb'],
    'Created': 1644009612,
    'Size': 172064416,
    'SharedSize': 1239828,
    'Labels': {'com.example.some-label': 'some-value'},
    'Containers': 2,
}
CONTAINER = {
    'Id': 'aa86eacfb3b3ed4cd362c1e88fc89a53908ad05fb3a4103bca3f9b28292d14bf',
    'Names': ['/funny_chatelet'],
    'Image': 'docker.io/library/ubuntu:latest',
    'ImageID': IMAGE['Id'],
    'Command': '/bin/bash',
    'Created': 1739811096,
    'SizeRw': 122880,
    'SizeRootFs': 1653948416,
    'Labels': {},
    'State': 'exited',
    'Status': 'Exited (0) 5 minutes ago',
    'Mounts': [],
}
VOLUME = {
    'Name': 'tardis',
    'Driver': 'local',
    'Mountpoint': '/var/lib/docker/volumes/tardis',
    'CreatedAt': '2016-06-07T20:31:11.853781916Z',
    'Labels': {'com.example.some-label': 'some-value'},
    'Scope': 'local',
    'Options': {},
    'UsageData': {'Size': 1048576, 'RefCount': 0},
}
RECORD = {
    'ID': 'ndlpt0hhvkqcdfkputsk4cq9c',
    'Parents': ['hw53o5aio51xtltp5xjp8v7fx'],
    'Type': 'regular',
    'Description': "mount / from exec /bin/sh -c echo 'keep-cache'",
    'InUse': False,
    'Shared': True,
    'Size': 51,
    'CreatedAt': '2016-08-18T10:44:24.496525531Z',
    'LastUsedAt': '2017-08-09T07:09:37.632105588Z',
    'UsageCount': 26,
}
LAYERS_SIZE = 1092588

# API 1.51 and before: the top-level lists only.
OLD = {'LayersSize': LAYERS_SIZE, 'Images': [IMAGE], 'Containers': [CONTAINER], 'Volumes': [VOLUME],
       'BuildCache': [RECORD]}


def _usage(items: list, total: int) -> Dict[str, Any]:
    """A usage object of API 1.52 (ImagesDiskUsage, ContainersDiskUsage, VolumesDiskUsage, BuildCacheDiskUsage)."""
    return {'ActiveCount': 1, 'TotalCount': len(items), 'Reclaimable': 0, 'TotalSize': total, 'Items': items}


# API 1.52 with verbose=1: the usage objects with their items; the legacy fields "are not populated".
NEW_VERBOSE = {
    'ImageUsage': _usage([IMAGE], LAYERS_SIZE),
    'ContainerUsage': _usage([CONTAINER], CONTAINER['SizeRw']),
    'VolumeUsage': _usage([VOLUME], VOLUME['UsageData']['Size']),
    'BuildCacheUsage': _usage([RECORD], RECORD['Size']),
}
# API 1.52 with verbose=1, should an engine still send the legacy fields, empty.
NEW_VERBOSE_EMPTY_LEGACY = dict(NEW_VERBOSE, LayersSize=0, Images=[], Containers=[], Volumes=[], BuildCache=None)
# API 1.52 without verbose: both shapes, the usage objects without items (x-omitempty).
NEW_BRIEF = dict(OLD, **{key: {k: v for k, v in usage.items() if k != 'Items'} for key, usage in NEW_VERBOSE.items()})


@pytest.mark.parametrize('answer', [OLD, NEW_VERBOSE, NEW_VERBOSE_EMPTY_LEGACY, NEW_BRIEF],
                         ids=['api-1.51', 'api-1.53-verbose', 'api-1.52-verbose', 'api-1.52-brief'])
def test_every_shape_reads_as_the_old_one(answer: Dict[str, Any]) -> None:
    original = copy.deepcopy(answer)
    result = legacy_disk_usage(answer)
    assert answer == original, 'the answer itself is left alone'
    assert {key: result[key] for key in OLD} == OLD


def test_old_shape_is_unchanged() -> None:
    assert legacy_disk_usage(OLD) == OLD


def test_usage_objects_without_items_leave_the_lists_out() -> None:
    """A brief 1.53 answer (no verbose): counts only; the snapshot then finds no lists (it reads them with `or []`)."""
    brief = {key: {k: v for k, v in usage.items() if k != 'Items'} for key, usage in NEW_VERBOSE.items()}
    result = legacy_disk_usage(brief)
    assert 'Images' not in result and 'BuildCache' not in result
    assert result['LayersSize'] == LAYERS_SIZE


@pytest.mark.parametrize('api_version, params, expected', [
    ('1.41', None, None),
    ('1.51', {'type': ['image', 'build-cache']}, {'type': ['image', 'build-cache']}),
    ('1.52', None, {'verbose': 1}),
    ('1.53', {'type': ['build-cache']}, {'type': ['build-cache'], 'verbose': 1}),
])
def test_query_asks_for_the_items_from_api_1_52(api_version: str, params: Any, expected: Any) -> None:
    original = copy.deepcopy(params)
    assert disk_usage_query(params, api_version) == expected
    assert params == original


def test_snapshot_parsers_take_the_items_of_api_1_52() -> None:
    """What snapshot.py does with the normalised answer: image sizes and build cache records from the items."""
    df = legacy_disk_usage(NEW_VERBOSE)
    images = parse_images([dict(IMAGE, Size=0, SharedSize=-1)])
    add_df_sizes(images, df['Images'])
    assert images[0].size == IMAGE['Size']
    records = parse_build_cache(df['BuildCache'])
    assert [(record.id, record.size, record.parents) for record in records] == [
        (RECORD['ID'], RECORD['Size'], RECORD['Parents'])]


def test_image_summary_without_labels_or_parent() -> None:
    """From API 1.52 empty fields may be left out (image inspect drops Parent and empty labels)."""
    summary = {key: value for key, value in IMAGE.items() if key not in ('Labels', 'ParentId', 'RepoDigests')}
    image = parse_images([summary])[0]
    assert image.labels == {} and image.parent == ''
