# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run learnt per image from the per-image engine reads, kept in the state file for the next run.

An image ID is the digest of the image's content, so its layers, their sizes and its history never change:
a later run reads them again only for IDs it has not seen. The last tag time is the exception (a tag
added, or a build that ended on the same image, moves it forward): it is read again where the tags
changed, and prune_run reads it again for every image a plan that orders by last use would remove
(tag_times_stale). The entries are kept per engine (its ID and image store). A damaged or foreign cache
only costs time: entries that do not parse, or that disagree with the listing, are read from the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.records import Image, Layer

DETAIL_KEY = 'image_detail'
# How engine_answers.config_bytes writes its estimate: entries of another way have their config read again (an
# exported config, with layer_blobs, is exact and stays).
CONFIG_ESTIMATE = 2


@dataclass(frozen=True)
class ImageDetail:
    """The per-image answers of one image, as the snapshot used them."""

    listed_size: int  # the Size of GET /images/json when read: an entry is used only while it still matches
    tags: Tuple[str, ...]  # the tags when last_tagged was read
    last_tagged: int
    created_precise: float
    content_size: int
    layers: Tuple[Layer, ...]
    buildkit: Optional[bool]  # None: the history was not read (the layer sizes were derived)
    config_bytes: int = -1  # containerd store: the config's estimated size (an entry of an older run has none)
    layer_blobs: Optional[Tuple[int, ...]] = None  # containerd store: the layers' blob sizes, where an export read them

    def fits(self, image: Image, containerd_store: bool) -> bool:
        """Whether the entry can stand for this listing of the image (same listed size; on a graphdriver
        store the layers add up to it, as they always do there; on the containerd store it has the config's
        size)."""
        if self.listed_size != image.size:
            return False
        if containerd_store:
            return self.config_bytes >= 0
        return sum(layer.size for layer in self.layers) == image.size


@dataclass
class DetailCache:
    """The entries of one engine, keyed by image ID."""

    engine: str  # the engine's ID and image store: entries of another engine are not used
    images: Dict[str, ImageDetail] = field(default_factory=dict)


def engine_key(engine_id: str, image_store: str) -> str:
    """Which engine a cache belongs to."""
    return '%s/%s' % (engine_id, image_store)


def detail_of(image: Image, listed_size: int, buildkit_known: bool) -> Optional[ImageDetail]:
    """The entry of an image the snapshot read (None when its layers could not be paired: read again)."""
    if image.layers is None:
        return None
    return ImageDetail(listed_size=listed_size, tags=tuple(image.tags), last_tagged=image.last_tagged,
                       created_precise=image.created_precise, content_size=image.content_size,
                       layers=tuple(image.layers), buildkit=image.buildkit if buildkit_known else None,
                       config_bytes=image.config_bytes,
                       layer_blobs=tuple(image.layer_blobs) if image.layer_blobs is not None else None)


def apply_detail(image: Image, detail: ImageDetail) -> None:
    """Fill an image record from its entry."""
    image.layers = list(detail.layers)
    image.last_tagged = detail.last_tagged
    image.created_precise = detail.created_precise
    image.content_size = detail.content_size
    image.buildkit = bool(detail.buildkit)
    image.config_bytes = detail.config_bytes
    image.layer_blobs = list(detail.layer_blobs) if detail.layer_blobs is not None else None


def to_state(cache: DetailCache) -> Dict[str, Any]:
    """The JSON form: each distinct layer once in a table, images name theirs by position."""
    table: Dict[Tuple[str, int, str], int] = {}
    images = {}
    for image_id, detail in sorted(cache.images.items()):
        positions = [table.setdefault((layer.chain_id, layer.size, layer.step), len(table)) for layer in detail.layers]
        images[image_id] = [detail.listed_size, list(detail.tags), detail.last_tagged, detail.created_precise,
                            detail.content_size, positions, detail.buildkit, detail.config_bytes,
                            list(detail.layer_blobs) if detail.layer_blobs is not None else None]
    return {'engine': cache.engine, 'config_estimate': CONFIG_ESTIMATE, 'layers': [list(layer) for layer in table],
            'images': images}


def from_state(raw: Any) -> Optional[DetailCache]:
    """The cache of a state file's section; None when it is missing or not of this layout. Entries that do not
    parse are left out alone."""
    if not isinstance(raw, dict) or not isinstance(raw.get('engine'), str) or not isinstance(raw.get('layers'), list) \
            or not isinstance(raw.get('images'), dict):
        return None
    layers = [_layer(entry) for entry in raw['layers']]
    cache = DetailCache(engine=raw['engine'])
    for image_id, entry in raw['images'].items():
        detail = _detail(entry, layers)
        if detail is not None and detail.layer_blobs is None and raw.get('config_estimate') != CONFIG_ESTIMATE:
            detail = replace(detail, config_bytes=-1)
        if detail is not None:
            cache.images[str(image_id)] = detail
    return cache


def _count(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= -1 else None


def _layer(entry: Any) -> Optional[Layer]:
    if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and isinstance(entry[2], str):
        size = _count(entry[1])
        if size is not None and size >= 0:
            return Layer(entry[0], size, entry[2])
    return None


def _detail(entry: Any, layers: List[Optional[Layer]]) -> Optional[ImageDetail]:
    if not isinstance(entry, list) or len(entry) not in (7, 8, 9):
        return None
    listed_size, tags, last_tagged, created, content_size, positions, buildkit = entry[:7]
    config = entry[7] if len(entry) >= 8 else -1  # entries of older runs: the config's size is read again
    blobs = entry[8] if len(entry) == 9 else None
    numbers = [_count(value) for value in (listed_size, last_tagged, content_size, config)]
    if None in numbers or not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return None
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
        return None
    if not isinstance(positions, list) or buildkit not in (True, False, None):
        return None
    if blobs is not None and (not isinstance(blobs, list) or len(blobs) != len(positions)
                              or not all(_count(size) is not None and size >= 0 for size in blobs)):
        return None
    if not all(_count(position) is not None and 0 <= position < len(layers) for position in positions):
        return None
    own = [layers[position] for position in positions]
    if any(layer is None for layer in own):
        return None
    return ImageDetail(listed_size=numbers[0], tags=tuple(tags), last_tagged=numbers[1], created_precise=float(created),
                       content_size=numbers[2], layers=tuple(layer for layer in own if layer is not None),
                       buildkit=buildkit, config_bytes=numbers[3],
                       layer_blobs=tuple(blobs) if blobs is not None else None)
