# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Byte accounting of image removal: which images really go with a set of candidates, and the bytes each frees
(every layer no remaining image holds, counted once). Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.content_estimate import image_total, layer_bytes, stack_bytes
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Image, Layer


class Removal:
    """Which images really go, and the bytes they free, grown one candidate at a time.

    An image goes once all its children go: a chosen candidate, or an untagged parent reached
    from a removed child (the engine deletes those with the child). A tagged candidate that
    other images still build on is only untagged. The containerd store keeps parents only as
    metadata: there an image goes whatever its children, and its untagged parent goes with it.
    """

    def __init__(self, images: List[Image], pinned: Set[str], containerd_store: bool = False) -> None:
        self.by_id = {image.id: image for image in images}
        self.pinned = pinned
        self.containerd_store = containerd_store
        self.deleted: Set[str] = set()
        self.freed = 0
        self.owners = layer_owners(images)
        self._left = {key: len(holders) for key, (_size, holders) in self.owners.items()}
        self._layers_of: Dict[str, List[str]] = {}
        for key, (_size, holders) in self.owners.items():
            for holder in holders:
                self._layers_of.setdefault(holder, []).append(key)

    def add(self, image_id: str, candidates: Dict[str, str]) -> None:
        """Remove ``image_id`` if it can go now, then whatever parents that frees."""
        stack = [image_id]
        while stack:
            image = self.by_id.get(stack.pop())
            if image is None or image.id in self.deleted or image.id in self.pinned:
                continue
            if image.id not in candidates and not image.untagged:
                continue
            if not self.containerd_store and not all(child in self.deleted for child in image.children):
                continue
            self.deleted.add(image.id)
            for key in self._layers_of.get(image.id, []):
                self._left[key] -= 1
                if not self._left[key]:
                    self.freed += self.owners[key][0]
            stack.append(image.parent)


def layer_owners(images: Iterable[Image]) -> Dict[str, Tuple[int, Set[str]]]:
    """layer key -> (size, images holding it).

    Each image's own part counts as one private layer per image (own_bytes). Layers several images hold come
    from the image history, keyed by chain ID; on the containerd store they also carry their blobs, estimated
    (content_estimate).
    """
    images = list(images)
    holders: Dict[str, Set[str]] = {}
    sizes: Dict[str, int] = {}
    for image in images:
        for layer in image.layers or []:
            holders.setdefault(layer.chain_id, set()).add(image.id)
            sizes[layer.chain_id] = layer.size
    stacks = stack_bytes(images)
    sizes.update(layer_bytes(images, stacks))
    owners = {key: (sizes[key], ids) for key, ids in holders.items() if len(ids) > 1}
    for image in images:
        owners['own:' + image.id] = (own_bytes(image, holders, stacks), {image.id})
    return owners


def own_bytes(image: Image, holders: Dict[str, Set[str]], stacks: Optional[Dict[str, int]] = None) -> int:
    """Bytes only this image holds.

    Graphdriver stores: the engine's size minus shared size, exact. The containerd store counts shared unpacked
    snapshots but not shared content blobs in the shared size, so there the own part is the image's content
    plus unpacked size less the estimated bytes of the layers other images hold (``stacks``, see
    content_estimate.stack_bytes).
    """
    if not image.layers:
        return max(image.unique_size, 0)
    shared = [layer for layer in image.layers if len(holders.get(layer.chain_id, ())) > 1]
    if image.content_size < 0 or not stacks:
        return sum(layer.size for layer in image.layers) - sum(layer.size for layer in shared)
    return max(image_total(image) - (stacks.get(shared[-1].chain_id, 0) if shared else 0), 0)


def release_cache_held_layers(image: Image, cache_sizes: Set[int], containerd_store: bool,
                              held_chains: Iterable[str] = ()) -> Image:
    """A copy of a BuildKit-built image whose layers the build cache also holds count 0 bytes:
    deleting the image leaves them on disk with the build cache (graphdriver stores, where a record
    and the image layer it made are one layer on disk, tied by size: see cache_links).

    The containerd store keeps the image's unpacked layers apart from BuildKit's own snapshots, so
    there removing the image frees its layers whatever the build cache holds. ``held_chains`` are layers
    known (cache_links) to be held by records that stay; ``cache_sizes`` those held as far as sizes tell.
    """
    held_chains = set(held_chains)
    if containerd_store or not image.buildkit or not image.layers or not (cache_sizes or held_chains):
        return image
    held = [layer.size in cache_sizes or layer.chain_id in held_chains for layer in image.layers]
    if not any(held):
        return image
    return replace(image, layers=[Layer(layer.chain_id, 0) if hold else layer
                                  for layer, hold in zip(image.layers, held)])


def freed_bytes(images: List[Image], removed: Set[str]) -> Dict[str, int]:
    """Bytes each removed image frees: every layer no remaining image holds, counted once.

    A layer shared by several removed images is credited to the first of them by ID.
    """
    return credit_bytes(layer_owners(images), removed)


def credit_bytes(owners: Dict[str, Tuple[int, Set[str]]], removed: Set[str]) -> Dict[str, int]:
    """Bytes each removed image frees, from layer owners (see layer_owners): a layer goes once all its holders go."""
    credit = {image_id: 0 for image_id in removed}
    for size, holders in owners.values():
        if holders <= removed:
            credit[min(holders)] += size
    return credit
