# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine_answers.py: the pure helpers that turn engine answers into records."""

from __future__ import annotations

import calendar
import hashlib

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import (
    add_writable_snapshots, chain_ids, config_bytes, image_store_name, layers_from_history, parse_containers, parse_images,
    parse_timestamp)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Filesystem, Image, Layer

NOON = calendar.timegm((2024, 3, 1, 12, 0, 0, 0, 0, 0))  # 2024-03-01T12:00:00Z


@pytest.mark.parametrize('value', [
    '2024-03-01T12:00:00Z',
    '2024-03-01T12:00:00.5Z',
    '2024-03-01T12:00:00.123456789Z',
    '2024-03-01T14:00:00+02:00',
    '2024-03-01T14:30:00.000000001+02:30',
    '2024-03-01T07:00:00-05:00',
    '2024-02-29T23:00:00-13:00',
    '2024-03-01T12:00:00',
])
def test_parse_timestamp_reads_rfc3339_with_nanoseconds_and_offsets(value):
    assert parse_timestamp(value) == NOON


@pytest.mark.parametrize('value, expected', [
    (None, 0),
    ('', 0),
    (0, 0),
    (NOON, NOON),
    (float(NOON) + 0.9, NOON),
    ('yesterday', 0),
    ('2024-03-01 12:00:00', 0),
    ('2024-03-01T12:00:00+0200', 0),
    # Go's zero time, which the engine sends for "never".
    ('0001-01-01T00:00:00Z', 0),
])
def test_parse_timestamp_unknown_or_numeric(value, expected):
    assert parse_timestamp(value) == expected


def test_image_store_name_graphdriver():
    info = {'Driver': 'overlay2', 'DriverStatus': [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']]}
    assert image_store_name(info) == 'overlay2'


def test_image_store_name_containerd_snapshotter():
    info = {'Driver': 'overlayfs', 'DriverStatus': [['driver-type', 'io.containerd.snapshotter.v1']]}
    assert image_store_name(info) == 'containerd'


@pytest.mark.parametrize('info, expected', [
    ({}, 'unknown'),
    ({'Driver': '', 'DriverStatus': None}, 'unknown'),
    ({'Driver': 'vfs', 'DriverStatus': [['driver-type', 'graphdriver']]}, 'vfs'),
])
def test_image_store_name_fallbacks(info, expected):
    assert image_store_name(info) == expected


def _sha(text):
    return 'sha256:' + hashlib.sha256(text.encode('ascii')).hexdigest()


DIFF_IDS = [_sha('layer-%d' % index) for index in range(3)]


def test_chain_ids_follow_the_oci_definition():
    first = DIFF_IDS[0]
    second = _sha('%s %s' % (first, DIFF_IDS[1]))
    third = _sha('%s %s' % (second, DIFF_IDS[2]))
    assert chain_ids(DIFF_IDS) == [first, second, third]


def test_chain_ids_empty_and_prefix_stable():
    assert chain_ids([]) == []
    # A shared base gives the same chain IDs whatever is stacked on it.
    assert chain_ids(DIFF_IDS[:2]) == chain_ids(DIFF_IDS)[:2]
    assert chain_ids([DIFF_IDS[1], DIFF_IDS[0]])[1] != chain_ids(DIFF_IDS)[1]


def test_layer_sizes_skips_metadata_steps_and_keeps_empty_layers():
    history = [  # newest first, as GET /images/{id}/history answers
        {'CreatedBy': 'CMD ["sh"]', 'Size': 0},
        {'CreatedBy': '/bin/sh -c true', 'Size': 0},
        {'CreatedBy': 'ENV A=1', 'Size': 0},
        {'CreatedBy': 'RUN /bin/sh -c echo hi > /x # buildkit', 'Size': 10},
        {'CreatedBy': '/bin/sh -c #(nop)  LABEL base_image=busybox:1.36', 'Size': 0},
        {'CreatedBy': '/bin/sh -c #(nop) ADD file:abc in / ', 'Size': 100},
    ]
    chains = chain_ids(DIFF_IDS)
    layers = layers_from_history(DIFF_IDS, history)
    assert layers == [Layer(chain_id=chains[0], size=100), Layer(chain_id=chains[1], size=10), Layer(chain_id=chains[2], size=0)]
    assert [layer.step for layer in layers] == [
        '/bin/sh -c #(nop) ADD file:abc in / ', 'RUN /bin/sh -c echo hi > /x # buildkit', '/bin/sh -c true']


def test_layer_sizes_falls_back_to_sized_entries():
    # A RUN that left no layer: pairing by step kind fails, pairing by size works.
    history = [{'CreatedBy': 'COPY app /app', 'Size': 5}, {'CreatedBy': 'RUN mkdir -p /x', 'Size': 0}]
    layers = layers_from_history(DIFF_IDS[:1], history)
    assert layers == [Layer(chain_id=DIFF_IDS[0], size=5)] and layers[0].step == 'COPY app /app'


@pytest.mark.parametrize('diff_ids, history', [
    (DIFF_IDS[:2], [{'CreatedBy': 'COPY a /', 'Size': 1}, {'CreatedBy': 'COPY b /', 'Size': 2},
                    {'CreatedBy': 'COPY c /', 'Size': 3}]),
    (DIFF_IDS, [{'CreatedBy': 'COPY a /', 'Size': 1}]),
    (DIFF_IDS[:1], []),
])
def test_layer_sizes_unpairable_is_none(diff_ids, history):
    assert layers_from_history(diff_ids, history) is None


def test_layer_sizes_tolerates_missing_keys():
    assert layers_from_history([], [{}]) == []
    assert layers_from_history(DIFF_IDS[:1], [{'CreatedBy': None, 'Size': None}]) == [Layer(chain_id=DIFF_IDS[0], size=0)]


def _image(**changes):
    values = dict(id='sha256:' + 'a' * 64, tags=[], digests=[], parent='', created=0, size=100,
                  shared_size=40, labels={})
    values.update(changes)
    return Image(**values)


def test_image_flags():
    assert _image().dangling and not _image().intermediate
    assert _image(children=['x']).intermediate and not _image(children=['x']).dangling
    tagged = _image(tags=['app:1'], children=['x'])
    assert not tagged.untagged and not tagged.dangling and not tagged.intermediate
    assert _image().unique_size == 60
    assert _image(shared_size=-1).unique_size == 100


def test_filesystem_used_percent():
    assert Filesystem(path='/', size_bytes=100, free_bytes=25, used_bytes=70).used_percent == 73.68
    assert Filesystem(path='/', size_bytes=0, free_bytes=0, used_bytes=0).used_percent == 0.0


def test_anonymous_volumes_follow_the_engines_own_label_and_only_the_local_driver():
    from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import parse_volumes
    hex_name = 'a' * 64
    listing = [
        {'Name': 'labelled', 'Driver': 'local', 'Labels': {'com.docker.volume.anonymous': ''}},
        {'Name': hex_name, 'Driver': 'local', 'Labels': None},
        {'Name': 'b' * 64, 'Driver': 'nfs-plugin', 'Labels': {'com.docker.volume.anonymous': ''}},
        {'Name': 'c' * 64, 'Driver': 'local', 'Labels': {'com.example.team': 'ci'}},
    ]
    labelled = {v.name: v.anonymous for v in parse_volumes(listing, [], labelled_engine=True)}
    assert labelled == {'labelled': True, hex_name: False, 'b' * 64: False, 'c' * 64: False}
    older = {v.name: v.anonymous for v in parse_volumes(listing, [], labelled_engine=False)}
    assert older == {'labelled': False, hex_name: True, 'b' * 64: False, 'c' * 64: False}


# ---------------------------------------------------------------- containerd store: writable snapshots
def _manifest(unpacked, kind='image', available=True):
    return {'Kind': kind, 'Available': available, 'ImageData': {'Size': {'Unpacked': unpacked}},
            'Size': {'Content': 1241225, 'Total': 1241225 + unpacked}}


@pytest.mark.parametrize('manifests, expected', [
    ([_manifest(2318336)], 2318336),
    ([_manifest(2318336), _manifest(0, kind='attestation')], 2318336),
    ([_manifest(2318336), _manifest(1000, available=False)], 2318336),
    ([_manifest(2318336), _manifest(1000)], -1),  # two platforms present: which one a container runs is not said
    (None, -1),
    ([{'Kind': 'image', 'Available': True}], -1),
])
def test_the_unpacked_size_comes_from_the_one_image_manifest_present(manifests, expected):
    (listed,) = parse_images([{'Id': 'sha256:a', 'Size': 3559561, 'Manifests': manifests}])
    assert listed.unpacked_size == expected


def test_a_containers_writable_snapshot_is_its_root_fs_less_its_unpacked_image():
    """Figures of 28.5 with the containerd store: a container that wrote 1 MB."""
    (image,) = parse_images([{'Id': 'sha256:a', 'Size': 3559561, 'Manifests': [_manifest(2318336)]}])
    wrote, unknown_image, not_walked = parse_containers([
        {'Id': 'c1', 'ImageID': 'sha256:a', 'SizeRw': 1007616, 'SizeRootFs': 3338240},
        {'Id': 'c2', 'ImageID': 'sha256:gone', 'SizeRw': 4096, 'SizeRootFs': 2334720},
        {'Id': 'c3', 'ImageID': 'sha256:a'}])
    add_writable_snapshots([wrote, unknown_image, not_walked], [image])
    assert (wrote.snapshot_bytes, wrote.disk_bytes) == (1019904, 1019904)
    assert (unknown_image.snapshot_bytes, unknown_image.disk_bytes) == (-1, 4096), 'SizeRw where not known'
    assert (not_walked.snapshot_bytes, not_walked.disk_bytes) == (-1, 0)


def test_buildkit_workdir_steps_pair_with_the_layers_they_made():
    """Seen on 20.10 (random seed 7): two BuildKit WORKDIR steps made two layers of history Size 0."""
    history = [  # newest first, as the API lists it
        {'CreatedBy': 'WORKDIR /w/b', 'Size': 0, 'Comment': 'buildkit.dockerfile.v0'},
        {'CreatedBy': 'WORKDIR /w/a', 'Size': 0, 'Comment': 'buildkit.dockerfile.v0'},
        {'CreatedBy': 'LABEL base_image=cw/busybox:latest', 'Size': 0, 'Comment': 'buildkit.dockerfile.v0'},
        {'CreatedBy': '/bin/busybox --install -s /bin', 'Size': 3216},
        {'CreatedBy': '/bin/sh -c #(nop) COPY file:73e2 in /', 'Size': 1982256}]
    diff_ids = ['sha256:' + str(n) * 64 for n in range(1, 5)]
    layers = layers_from_history(diff_ids, history)
    assert [(layer.size, layer.step) for layer in layers] == [
        (1982256, '/bin/sh -c #(nop) COPY file:73e2 in /'), (3216, '/bin/busybox --install -s /bin'),
        (0, 'WORKDIR /w/a'), (0, 'WORKDIR /w/b')]
    assert layers_from_history(diff_ids[:3], history) is None, 'one of two WORKDIRs made a layer: which is not said'


def test_a_legacy_workdir_step_pairs_with_the_layer_it_made():
    """Seen on 20.10 (random seed 104): an image of the legacy builder, pushed and pulled back, has 5 layers and 4
    history entries with a size; its `#(nop) WORKDIR` made the fifth. Without it no layer of the host was tied."""
    history = [  # newest first, as the API lists it
        {'CreatedBy': '/bin/sh -c #(nop)  CMD ["sh"]', 'Size': 0},
        {'CreatedBy': '/bin/sh -c #(nop) WORKDIR /w/ac0fa4afd44e', 'Size': 0},
        {'CreatedBy': '/bin/sh -c mkdir -p /data && yes 970f | head -c 36784 > /data/r', 'Size': 36784},
        {'CreatedBy': '/bin/sh -c mkdir -p /data && yes eabe | head -c 17348 > /data/r', 'Size': 17348},
        {'CreatedBy': '/bin/sh -c #(nop)  LABEL org.cachewarden.sandbox.scenario=random', 'Size': 0},
        {'CreatedBy': '/bin/busybox --install -s /bin', 'Size': 3216},
        {'CreatedBy': '/bin/sh -c #(nop) COPY file:73e2 in /bin/busybox ', 'Size': 1982256}]
    diff_ids = ['sha256:' + str(n) * 64 for n in range(1, 6)]
    layers = layers_from_history(diff_ids, history)
    assert [layer.size for layer in layers] == [1982256, 3216, 17348, 36784, 0]
    assert layers[-1].step == '/bin/sh -c #(nop) WORKDIR /w/ac0fa4afd44e'


def test_the_manifest_bytes_are_the_listings_descriptors_and_the_index():
    manifest = dict(_manifest(2318336), Descriptor={'digest': 'sha256:m', 'size': 966})
    attestation = dict(_manifest(0, kind='attestation'), Descriptor={'digest': 'sha256:t', 'size': 566})
    (one,) = parse_images([{'Id': 'sha256:a', 'Size': 1, 'Manifests': [manifest],
                            'Descriptor': {'digest': 'sha256:m', 'size': 966}}])
    (index,) = parse_images([{'Id': 'sha256:b', 'Size': 1, 'Manifests': [manifest, attestation],
                              'Descriptor': {'digest': 'sha256:i', 'size': 856}}])
    (older,) = parse_images([{'Id': 'sha256:c', 'Size': 1}])
    assert (one.manifest_bytes, index.manifest_bytes, older.manifest_bytes) == (966, 966 + 566 + 856, -1)


# rnd/cedar:dev on 28.5 (random seed 110, legacy builder): its config blob, exported, is 1,886 bytes.
_CEDAR_STEPS = [  # (history Created, CreatedBy, whether it made a layer), oldest first
    (1796610312, '/bin/sh -c #(nop) COPY file:73e2b2d48642b21b357384b0cb81c1869cc5e0c48a00f61553756196058304b9 in '
                 '/bin/busybox ', True),
    (1796610313, '/bin/busybox --install -s /bin', True),
    (1796610318, '/bin/sh -c #(nop)  LABEL org.cachewarden.sandbox.scenario=random org.cachewarden.sandbox.seed=110', False),
    (1796610318, '/bin/sh -c #(nop)  ENV STEP_87528CC9E07B=87528cc9e07b', False),
    (1796610318, '/bin/sh -c mkdir -p /data && yes 4337894e491e | head -c 65082 > /data/r-4337894e491e', True),
    (1796610319, '/bin/sh -c mkdir -p /data && yes d329978539ed | head -c 91718 > /data/r-d329978539ed', True),
    (1796610319, '/bin/sh -c mkdir -p /data && yes 9e1b8bc6a996 | head -c 18772 > /data/r-9e1b8bc6a996', True),
    (1796610319, '/bin/sh -c #(nop)  CMD ["sh"]', False),
]
_CEDAR_INSPECT = {
    'Architecture': 'amd64', 'Os': 'linux', 'Created': '2026-12-07T02:25:19.725530811Z',
    'Config': {'Cmd': ['sh'], 'Entrypoint': None, 'OnBuild': None, 'User': '', 'Volumes': None, 'WorkingDir': '',
               'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'STEP_87528CC9E07B=87528cc9e07b'],
               'Labels': {'org.cachewarden.sandbox.scenario': 'random', 'org.cachewarden.sandbox.seed': '110'}},
    'RootFS': {'Type': 'layers', 'Layers': ['sha256:' + digit * 64 for digit in '12345']},
}


def test_the_config_size_is_the_config_written_again_from_inspect_and_history():
    """The engine writes the OCI config without empty fields, with `empty_layer` on the history entries that made
    no layer, times to the nanosecond (trailing zeros dropped: three of cedar's eight have 8 digits) and `&`, `<`,
    `>` escaped as Go does. The estimate was 78 bytes large on cw/busybox:latest and 42 short on cedar before."""
    history = [{'Created': created, 'CreatedBy': step, 'Comment': '', 'Size': 4096 if layer else 0}
               for created, step, layer in reversed(_CEDAR_STEPS)]
    assert config_bytes(_CEDAR_INSPECT, history) == 1886 + 3
    loaded = dict(_CEDAR_INSPECT, Created='2026-12-07T02:25:19Z')
    assert config_bytes(loaded, history) == 1886 + 3 - 9 * 10, 'no fractions where the image time has none (9 times)'
