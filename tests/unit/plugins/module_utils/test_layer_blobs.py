# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""layer_blobs.py: blob sizes read from an image export (a tar built here as the 28.5 engine wrote the demo's
cw/web:1.0), which images are exported, and the exact stacks they give content_estimate."""

from __future__ import annotations

import io
import json
import tarfile

from ansible_collections.cachewarden.docker.plugins.module_utils.content_estimate import image_total, stack_bytes
from ansible_collections.cachewarden.docker.plugins.module_utils.image_bytes import credit_bytes, layer_owners
from ansible_collections.cachewarden.docker.plugins.module_utils.layer_blobs import (
    BlobSizes, blob_sizes_of_export, images_to_export)
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import image, snapshot, stored

CONFIG, L0, L1, TOP, MANIFEST = ('blobs/sha256/' + char * 64 for char in 'cabde')
# cw/web:1.0 as `GET /images/{id}/get` exported it on 28.5 (containerd store): blob sizes by path.
WEB_BLOBS = {L0: 61440, L1: 61440, TOP: 20480, CONFIG: 770, MANIFEST: 734}


class _OneWay(io.RawIOBase):
    """A stream that can only be read forward, as the engine's answer is."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _export(blobs, manifest) -> io.RawIOBase:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode='w') as archive:
        files = dict(((path, b'\0' * size) for path, size in sorted(blobs.items())),
                     **{'index.json': b'{}', 'manifest.json': json.dumps(manifest).encode(), 'oci-layout': b'{}'})
        for path, content in files.items():
            entry = tarfile.TarInfo(path)
            entry.size = len(content)
            archive.addfile(entry, io.BytesIO(content))
    return _OneWay(data.getvalue())


def test_the_config_and_each_layer_blob_in_the_manifests_order():
    manifest = [{'Config': CONFIG, 'RepoTags': ['cw/web:1.0'], 'Layers': [L0, L1, TOP]}]
    assert blob_sizes_of_export(_export(WEB_BLOBS, manifest)) == BlobSizes(config=770, layers=(61440, 61440, 20480))


def test_an_export_that_does_not_describe_one_image_gives_nothing():
    one = {'Config': CONFIG, 'Layers': [L0, L1, TOP]}
    assert blob_sizes_of_export(_export(WEB_BLOBS, [one, one])) is None, 'two images'
    assert blob_sizes_of_export(_export(WEB_BLOBS, {'Config': CONFIG})) is None, 'not a list'
    missing = dict(WEB_BLOBS)
    del missing[L1]
    assert blob_sizes_of_export(_export(missing, [one])) is None, 'a layer blob it names is not in it'
    assert blob_sizes_of_export(_OneWay(b'not a tar at all' * 64)) is None


def _alpine_family():
    """The demo's containerd host: alpine-ish:3.17 = L0; web and app add L1 (no image ends at it) and a top."""
    base = stored(image('base', 'registry.example.com/base/alpine-ish:3.17', layers=[('L0', 73728)]), 62269, 73728)
    web = stored(image('web', 'cw/web:1.0', layers=[('L0', 73728), ('L1', 65536), ('W', 24576)]), 144864, 163840)
    app = stored(image('app', 'cw/app:1.0', layers=[('L0', 73728), ('L1', 65536), ('A', 20480)]), 144864, 159744)
    for made in (base, web, app):
        made.manifest_bytes = 734
    snapshot(images=[base, web, app])
    return base, web, app


def test_the_smallest_holder_of_a_shared_layer_no_image_ends_at_is_exported():
    base, web, app = _alpine_family()
    web.content_size = 150000
    assert images_to_export([base, web, app]) == [app]
    web.content_size = app.content_size
    assert images_to_export([base, web, app]) == [min(web, app, key=lambda made: made.id)], 'ties by ID'


def test_nothing_is_exported_where_every_split_is_known():
    base, web, app = _alpine_family()
    app.layer_blobs = [61440, 61440, 20480]
    assert images_to_export([base, web, app]) == [], 'an image with blob sizes settles its layers'
    app.layer_blobs = None
    assert images_to_export([base, web]) == [], 'L1 has one holder: no split to make'
    assert images_to_export([base, web, app], budget=144863) == [], 'past the budget the estimate stands'
    web.content_size = app.content_size = -1
    assert images_to_export([base, web, app]) == [], 'graphdriver stores have no content sizes'


def test_exported_blob_sizes_make_what_an_image_frees_exact():
    """Measured on 28.5: removing cw/web:1.0 alone lowered LayersSize by 46,560 (its top's snapshot 24,576 and
    blob 20,480, config 770, manifest 734); the scaled estimate said 50,757."""
    base, web, app = _alpine_family()
    web.config_bytes = 770
    scaled = credit_bytes(layer_owners([base, web, app]), {web.id})[web.id]
    assert scaled != 46560
    web.layer_blobs = [61440, 61440, 20480]
    stacks = stack_bytes([base, web, app])
    assert stacks['L1'] == 73728 + 61440 + 65536 + 61440
    assert stacks['W'] == image_total(web) - 770 - 734
    assert credit_bytes(layer_owners([base, web, app]), {web.id})[web.id] == 46560
    assert credit_bytes(layer_owners([base, web, app]), {app.id})[app.id] == image_total(app) - stacks['L1']


def test_where_the_history_undercounts_the_snapshots_the_unpacked_size_is_shared_out():
    """BuildKit-built images on 28.5: the history sizes the snapshots by their chain-ID names, the image's own
    snapshots can be a little larger (cw/busybox:latest: history 1,998,848, unpacked 2,027,520)."""
    one = stored(image('one', 'cw/one:1', layers=[('B', 1990656), ('S', 8192), ('O', 4096)]), 1090000, 2031616)
    two = stored(image('two', 'cw/two:1', layers=[('B', 1990656), ('S', 8192), ('T', 8192)]), 1092000, 2035712)
    snapshot(images=[one, two])
    one.layer_blobs = [1079947, 3457, 2000]
    stacks = stack_bytes([one, two])
    assert stacks['S'] == 1079947 + 3457 + (1990656 + 8192) * 2031616 // (1990656 + 8192 + 4096)
    assert stacks['O'] == 2031616 + 1079947 + 3457 + 2000, 'where the image ends: its unpacked size, exactly'
