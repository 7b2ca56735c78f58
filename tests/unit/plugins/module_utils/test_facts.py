# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""facts.py on a hand-made snapshot: the `docker system df` rules, counts, base images, detail."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.facts import (
    base_images,
    cache_facts,
    disk_usage,
    image_counts,
)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BuildCacheRecord,
    Container,
    EngineInfo,
    Filesystem,
    Image,
    Network,
    Snapshot,
    Volume,
    normalize_reference,
)


def _id(char):
    return 'sha256:' + char * 64


def image(char, tags=(), size=0, shared=0, containers=(), children=(), parent='', labels=None, digests=()):
    return Image(id=_id(char), tags=list(tags), digests=list(digests), parent=parent, created=1700000000 + ord(char),
                 size=size, shared_size=shared, labels=dict(labels or {}), containers=list(containers),
                 children=list(children))


def container(name, image_char, state, size_rw):
    return Container(id=name, names=[name], image_id=_id(image_char), image='img-' + image_char, state=state,
                     created=1700000000, size_rw=size_rw, volumes=[], networks=[], labels={})


def volume(name, size, ref_count, anonymous=False):
    return Volume(name=name, driver='local', anonymous=anonymous, labels={}, created=0, size=size, ref_count=ref_count)


def record(rid, size, in_use=False, shared=False, kind='regular', last_used=0):
    return BuildCacheRecord(id=rid, type=kind, description='step ' + rid, in_use=in_use, shared=shared, size=size,
                            created=0, last_used=last_used, usage_count=1, parents=[])


def network(name, containers):
    return Network(id='net-' + name, name=name, driver='bridge', labels={}, created=0, containers=containers)


@pytest.fixture(name='snapshot')
def snapshot_fixture():
    """Five images (one an intermediate the df listing leaves out), five containers, four volumes, four records."""
    images = [
        image('a', tags=['app:1'], size=300, shared=100, containers=['c1', 'c3', 'c4'],
              labels={'base_image': 'docker.io/library/nginx:1.23'}),
        # The base image carries the label it inherited from its own Dockerfile: not a "user" of itself.
        image('b', tags=['nginx:1.23'], size=150, shared=100, containers=['c2', 'c5'],
              labels={'base_image': 'nginx:1.23'}),
        image('c', size=50, shared=0, labels={'base_image': 'alpine'}),
        image('p', size=80, shared=80, children=[_id('d')], labels={'base_image': 'busybox:1.36'}),
        image('d', tags=['tool:latest'], size=120, shared=80, parent=_id('p'),
              labels={'base_image': 'nginx:1.23'}),
    ]
    return Snapshot(
        taken_at=1700000000,
        engine=EngineInfo(version='20.10.24', api_version='1.41', os='linux', arch='x86_64',
                          storage_driver='overlay2', image_store='overlay2', root_dir='/var/lib/docker'),
        filesystem=Filesystem(path='/var/lib/docker', size_bytes=1000, free_bytes=400, used_bytes=600),
        images=images,
        containers=[
            container('c1', 'a', 'running', 10),
            container('c2', 'b', 'exited', 20),
            container('c3', 'a', 'paused', 5),
            container('c4', 'a', 'restarting', -1),
            container('c5', 'b', 'created', 0),
        ],
        volumes=[volume('v1', 100, 1), volume('v2', 40, 0, anonymous=True), volume('v3', -1, 0),
                 volume('v4', 7, 2)],
        networks=[network('bridge', 1), network('host', 0), network('none', 0), network('appnet', 0),
                  network('busy', 2)],
        build_cache=[record('r1', 100), record('r2', 30, in_use=True), record('r3', 500, shared=True),
                     record('r4', 5, kind='source.local', last_used=1700000500)],
        layers_size=1000,
        df_image_ids=[_id('a'), _id('b'), _id('c'), _id('d')],
        sizes_computed=True,
    )


def test_disk_usage_images_row_follows_the_cli(snapshot):
    row = disk_usage(snapshot)['images']
    # TOTAL: only what GET /system/df lists; ACTIVE: images with containers in any state.
    assert row['total'] == 4
    assert row['active'] == 2
    assert row['size_bytes'] == 1000
    # RECLAIMABLE: LayersSize minus the unique bytes of active images (a: 200, b: 50).
    assert row['reclaimable_bytes'] == 750


def test_disk_usage_images_with_unknown_shared_size_count_as_reclaimable(snapshot):
    snapshot.images[0].shared_size = -1
    assert disk_usage(snapshot)['images']['reclaimable_bytes'] == 1000 - 50


def test_disk_usage_containers_row(snapshot):
    # Active = running, paused, restarting; sizes of -1 (not computed) are left out.
    assert disk_usage(snapshot)['containers'] == {'total': 5, 'active': 3, 'size_bytes': 35, 'reclaimable_bytes': 20}


def test_disk_usage_volumes_row(snapshot):
    assert disk_usage(snapshot)['volumes'] == {'total': 4, 'active': 2, 'size_bytes': 147, 'reclaimable_bytes': 40}


def test_disk_usage_build_cache_excludes_shared_records(snapshot):
    assert disk_usage(snapshot)['build_cache'] == {'total': 4, 'active': 1, 'size_bytes': 135,
                                                   'reclaimable_bytes': 105}


def test_disk_usage_of_an_empty_engine(snapshot):
    snapshot.images, snapshot.containers, snapshot.volumes, snapshot.build_cache = [], [], [], []
    snapshot.df_image_ids, snapshot.layers_size = [], 0
    zero = {'total': 0, 'active': 0, 'size_bytes': 0, 'reclaimable_bytes': 0}
    assert disk_usage(snapshot) == {'images': zero, 'containers': zero, 'volumes': zero, 'build_cache': zero}


def test_image_counts(snapshot):
    assert image_counts(snapshot) == {
        'total': 5,          # docker images -a
        'tagged': 3,
        'dangling': 1,       # c: untagged, nothing builds on it
        'intermediate': 1,   # p: untagged parent of d
        'in_use': 2,
        'unused': 2,         # c and d
        'size_bytes': 1000,
        'unique_bytes': 200 + 50 + 50 + 40,
        'shared_bytes': 1000 - 340,
    }


@pytest.mark.parametrize('reference, expected', [
    ('nginx', 'nginx:latest'),
    ('nginx:1.23', 'nginx:1.23'),
    ('docker.io/library/nginx:1.23', 'nginx:1.23'),
    ('index.docker.io/library/nginx', 'nginx:latest'),
    ('docker.io/bitnami/redis:7', 'bitnami/redis:7'),
    (' library-free/app ', 'library-free/app:latest'),
    ('registry.example.com:5000/base/python', 'registry.example.com:5000/base/python:latest'),
    ('registry.example.com:5000/base/python:3.12', 'registry.example.com:5000/base/python:3.12'),
    ('docker.io/library/nginx@sha256:' + 'f' * 64, 'nginx@sha256:' + 'f' * 64),
])
def test_normalize_reference(reference, expected):
    assert normalize_reference(reference) == expected


def test_base_images_present_and_absent(snapshot):
    assert base_images(snapshot) == [
        {'reference': 'alpine:latest', 'present': False, 'image_id': None, 'used_by': ['cccccccccccc']},
        {'reference': 'nginx:1.23', 'present': True, 'image_id': _id('b'), 'used_by': ['app:1', 'tool:latest']},
    ]


def test_base_images_found_by_digest(snapshot):
    digest = 'nginx@sha256:' + 'f' * 64
    snapshot.images.append(image('e', digests=[digest], size=1))
    snapshot.images.append(image('g', tags=['web:2'], size=1, labels={'base_image': 'docker.io/library/' + digest}))
    by_reference = {entry['reference']: entry for entry in base_images(snapshot)}
    assert by_reference[digest]['present'] is True
    assert by_reference[digest]['image_id'] == _id('e')
    assert by_reference[digest]['used_by'] == ['web:2']


def test_cache_facts_summary(snapshot):
    facts = cache_facts(snapshot)
    assert 'detail' not in facts
    assert facts['collected_at'] == '2023-11-14T22:13:20Z'
    assert facts['engine']['image_store'] == 'overlay2'
    assert facts['engine']['api_version'] == '1.41'
    assert facts['filesystem']['used_percent'] == 60.0
    assert facts['cache_bytes'] == 1000 + 135
    assert facts['reclaimable_bytes'] == 750 + 20 + 40 + 105
    assert facts['containers'] == {'total': 5, 'running': 1, 'stopped': 4, 'size_bytes': 35}
    assert facts['volumes'] == {'total': 4, 'named': 3, 'anonymous': 1, 'in_use': 2, 'unused': 2, 'size_bytes': 147}
    assert facts['networks'] == {'total': 5, 'builtin': 3, 'unused': 1}
    assert facts['build_cache']['by_type'] == {'regular': {'count': 3, 'size_bytes': 630},
                                               'source.local': {'count': 1, 'size_bytes': 5}}
    assert facts['build_cache']['last_used'] == '2023-11-14T22:21:40Z'
    assert facts['build_cache']['size_bytes'] == 135
    # Plain JSON, as fact caches store it.
    assert json.loads(json.dumps(facts)) == facts


def test_cache_facts_without_filesystem(snapshot):
    snapshot.filesystem = None
    assert cache_facts(snapshot)['filesystem'] is None


def test_detail_is_bounded_and_counts_what_it_left_out(snapshot):
    detail = cache_facts(snapshot, detail=['images', 'volumes'], detail_limit=2)['detail']
    assert detail['limit'] == 2
    assert [row['id'] for row in detail['images']] == [_id('a'), _id('b')]  # largest first
    assert [row['name'] for row in detail['volumes']] == ['v1', 'v2']
    assert detail['truncated'] == {'images': 3, 'volumes': 2}
    assert 'containers' not in detail and 'build_cache' not in detail


def test_detail_limit_zero_keeps_only_counts(snapshot):
    detail = cache_facts(snapshot, detail=['containers', 'build_cache', 'networks'], detail_limit=0)['detail']
    assert detail['containers'] == [] and detail['build_cache'] == [] and detail['networks'] == []
    assert detail['truncated'] == {'containers': 5, 'build_cache': 4, 'networks': 5}


def test_detail_rows(snapshot):
    detail = cache_facts(snapshot, detail=['images', 'containers', 'build_cache'], detail_limit=100)['detail']
    assert detail['truncated'] == {'images': 0, 'containers': 0, 'build_cache': 0}
    by_id = {row['id']: row for row in detail['images']}
    assert by_id[_id('p')]['intermediate'] is True and by_id[_id('c')]['dangling'] is True
    assert by_id[_id('a')]['containers'] == 3
    assert [row['id'] for row in detail['containers']] == ['c2', 'c1', 'c3', 'c5', 'c4']
    assert [row['id'] for row in detail['build_cache']] == ['r3', 'r1', 'r2', 'r4']
