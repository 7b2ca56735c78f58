# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image bytes on the containerd store, estimated. Pure: no I/O.

The engine counts an image there as its content blobs (compressed layers, config, manifest) plus its unpacked
snapshots, and the API gives no size per blob; the history's layer sizes are the layers' diffs, a little under
their snapshots. Chain IDs name every layer below them, so the layers an image shares with others are a prefix
of its list. The bytes of a layer stack are known where an image of exactly that stack is present (a parent, a
base): its unpacked size plus its content less its own config and manifests (their sizes: the listing's
descriptors, and an estimate of the config), or where an exported image (layer_blobs.py) holds that layer, plus
the exact bytes of the layers' blobs up to it. At the other layers of an exported image: those blobs, exact,
and its unpacked size in the shares of its history's sizes. Elsewhere a layer counts its history size scaled
as the image it is read from scales (that image's layers' bytes over its history sizes).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.records import Image


def image_total(image: Image) -> int:
    """What the engine counts for an image on the containerd store: content plus unpacked snapshots."""
    return image.content_size + _unpacked(image)


def _unpacked(image: Image) -> int:
    """The image's unpacked snapshots (from API 1.47; before it, the history's layer sizes stand in)."""
    return image.unpacked_size if image.unpacked_size >= 0 else sum(layer.size for layer in image.layers or [])


def _layers_total(image: Image) -> int:
    """The part of image_total its layers make up: less its own config and manifests (Image.meta_bytes)."""
    return max(image_total(image) - image.meta_bytes, 0)


def stack_bytes(images: Iterable[Image]) -> Dict[str, int]:
    """Chain ID -> estimated bytes of the layer stack up to and including that layer (snapshots and blobs, no
    image's config or manifest), for the images whose content size is known (the containerd store; empty
    elsewhere)."""
    known: List[Image] = sorted((image for image in images if image.layers and image.content_size >= 0),
                                key=lambda image: image.id)
    exported: Dict[str, Tuple[int, int]] = {}  # chain -> (blobs, snapshots) up to it, from the first exported image
    for image in known:
        for chain, stack in _exported_stacks(image).items():
            exported.setdefault(chain, stack)
    anchors: Dict[str, int] = {}
    for image in known:
        top = image.layers[-1].chain_id
        total = _unpacked(image) + exported[top][0] if top in exported else _layers_total(image)
        anchors[top] = min(anchors.get(top, total), total)
    stacks: Dict[str, int] = {}
    for image in known:
        history = sum(layer.size for layer in image.layers)
        below = 0
        for layer in image.layers:
            if layer.chain_id not in stacks:
                if layer.chain_id in anchors:
                    stacks[layer.chain_id] = anchors[layer.chain_id]
                elif layer.chain_id in exported:
                    stacks[layer.chain_id] = sum(exported[layer.chain_id])  # its blobs and its snapshots
                else:
                    stacks[layer.chain_id] = below + (layer.size * _layers_total(image) // history if history else 0)
            below = stacks[layer.chain_id]
    return stacks


def _exported_stacks(image: Image) -> Dict[str, Tuple[int, int]]:
    """Chain ID -> the bytes of the blobs up to that layer (exact) and of its snapshots (the image's unpacked size
    in the shares of its history's sizes: the history sizes the snapshots by their own names, while the image's
    snapshots may be others of a little more, which the engine counts), for an image whose blob sizes are known."""
    if image.layer_blobs is None or len(image.layer_blobs) != len(image.layers or []):
        return {}
    history, unpacked = sum(layer.size for layer in image.layers or []), _unpacked(image)
    stacks: Dict[str, Tuple[int, int]] = {}
    blobs = sizes = 0
    for layer, blob in zip(image.layers or [], image.layer_blobs):
        blobs, sizes = blobs + blob, sizes + layer.size
        stacks[layer.chain_id] = (blobs, sizes * unpacked // history if history else 0)
    return stacks


def layer_bytes(images: Iterable[Image], stacks: Optional[Dict[str, int]] = None) -> Dict[str, int]:
    """Chain ID -> estimated bytes of that one layer (snapshot and blob): its stack less the stack below it
    (``stacks``: stack_bytes of the same images, when the caller has them already)."""
    images = list(images)
    stacks = stack_bytes(images) if stacks is None else stacks
    below = chains_below(images)
    return {chain: max(stack - stacks.get(below[chain], 0), 0) for chain, stack in stacks.items()}


def chains_below(images: Iterable[Image]) -> Dict[str, str]:
    """Chain ID -> the chain ID of the layer under it ('' for a bottom layer), over the images' layers."""
    below: Dict[str, str] = {}
    for image in images:
        previous = ''
        for layer in image.layers or []:
            below[layer.chain_id], previous = previous, layer.chain_id
    return below
