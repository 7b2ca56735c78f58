# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""content_estimate.py and layer_owners on the containerd store: layer stacks anchored on images of exactly
those layers, scaled history sizes elsewhere. Figures from Docker 28.5 (the demo host, containerd store)."""

from __future__ import annotations

from ansible_collections.cachewarden.docker.plugins.module_utils.content_estimate import image_total, stack_bytes
from ansible_collections.cachewarden.docker.plugins.module_utils.image_bytes import credit_bytes, layer_owners
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import image, snapshot, stored


def _alpine_family():
    """alpine-ish:3.17 = L0; two images add L1 then their own top layer (no image ends at L1)."""
    base = stored(image('base', 'registry.example.com/base/alpine-ish:3.17', layers=[('L0', 73728)]), 62269, 73728)
    web = stored(image('web', 'cw/web:1.0', layers=[('L0', 73728), ('L1', 65536), ('W', 24576)]), 144864, 163840)
    app = stored(image('app', 'cw/app:1.0', layers=[('L0', 73728), ('L1', 65536), ('A', 24576)]), 144864, 163840)
    snapshot(images=[base, web, app])
    return base, web, app


def test_a_stack_an_image_ends_at_is_that_image_and_others_scale_their_history():
    base, web, app = _alpine_family()
    stacks = stack_bytes([base, web, app])
    assert stacks['L0'] == image_total(base) == 62269 + 73728
    first = min(web, app, key=lambda made: made.id)  # L1 scales as the first image (by ID) holding it does
    assert stacks['L1'] == stacks['L0'] + 65536 * image_total(first) // 163840
    assert stacks['W'] == image_total(web), 'web ends at W'


def test_graphdriver_images_have_no_stacks():
    plain = image('plain', 'cw/p:1', layers=[('P', 10)])
    assert stack_bytes([plain]) == {}


def test_an_image_and_its_shared_layers_add_up_to_what_the_engine_counts():
    """Measured: web alone freed 46,560; L0's and L1's blobs are 61,440 each, the base's config and manifest 829,
    each top layer's blob with its config and manifest 21,984."""
    base, web, app = _alpine_family()
    owners = layer_owners([base, web, app])
    engine_all = (73728 + 65536 + 2 * 24576) + 2 * 61440 + 2 * 21984 + 829
    every = sum(credit_bytes(owners, {base.id, web.id, app.id}).values())
    assert abs(every - engine_all) <= 0.01 * engine_all, (every, engine_all)
    own_web = credit_bytes(owners, {web.id})[web.id]
    assert own_web == image_total(web) - stack_bytes([base, web, app])['L1']
    assert abs(own_web - 46560) <= 0.06 * 46560, own_web


def test_removing_an_image_on_a_base_measured_as_the_engine_did():
    """cw/tools:1.0 = alpine-ish:3.17's layer + 8,192 of its own: LayersSize fell by 19,627 when it went."""
    base = stored(image('base', 'registry.example.com/base/alpine-ish:3.17', layers=[('L0', 73728)]), 62269, 73728)
    tools = stored(image('tools', 'cw/tools:1.0', layers=[('L0', 73728), ('T', 8192)]), 72875, 81920)
    snapshot(images=[base, tools])
    credit = credit_bytes(layer_owners([base, tools]), {tools.id})[tools.id]
    assert credit == image_total(tools) - image_total(base) == 18798
    assert abs(credit - 19627) / 19627 < 0.05, 'off by the difference of the two configs and manifests'


def test_an_image_whose_layers_others_all_hold_frees_its_config_and_manifests():
    """Random seed 110 on 28.5: intermediate images of the legacy builder were predicted to free 0 bytes and freed
    2-3.4 kB each (their config and manifest); 34 of them made the image row 92 % over the prediction."""
    parent = stored(image('parent', layers=[('P1', 1990656), ('P2', 8192)]), 1085709, 1998848)
    child = stored(image('child', 'cw/c:1', layers=[('P1', 1990656), ('P2', 8192), ('C', 12288)]), 1092000, 2011136)
    parent.manifest_bytes, parent.config_bytes = 966, 1129
    child.manifest_bytes, child.config_bytes = 966, 1300
    snapshot(images=[parent, child])
    owners = layer_owners([parent, child])
    assert credit_bytes(owners, {parent.id}) == {parent.id: 966 + 1129}
    both = credit_bytes(owners, {parent.id, child.id})
    assert sum(both.values()) == image_total(child) + 966 + 1129, "the family: the child and the parent's own files"
