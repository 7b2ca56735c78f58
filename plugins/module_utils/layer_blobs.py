# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containerd store: the bytes of each layer's blob, read from an image export where the sizes the API gives
cannot split an image's bytes between its layers.

The engine counts an image there as its blobs (config, manifests, one compressed blob per layer) plus its
unpacked snapshots. The history sizes each layer's snapshot (by its chain-ID name; a BuildKit-built image's own
snapshots can be a little larger, see content_estimate) and the listing each image's totals, but no API answer
sizes one layer's blob. Where two images share layers that no
image ends at (``FROM base`` then different steps), how much of their content is the shared part is therefore
unknown, and so is what removing one of them frees. An export (``GET /images/{id}/get``, what ``docker save``
reads) is an OCI layout whose tar headers size every blob and whose ``manifest.json`` names the config and the
layer blobs in order: exact. It streams the whole image, so only the fewest images that settle every such shared
layer are exported (the smallest holder of each), up to EXPORT_BYTES_PER_RUN a run; an image ID names its content,
so the sizes are kept with its other per-image detail in the state file and a real run reads each image once.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass
from typing import IO, Dict, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine, EngineError, map_concurrently
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Image

# Bytes of image content one snapshot may read through exports (the content sizes of the images it exports).
EXPORT_BYTES_PER_RUN = 2 * 1024 ** 3
# Manifest files larger than this are not an export's manifest.json (it names a few paths per image).
_MANIFEST_LIMIT = 1024 * 1024
# Bytes read from the export at a time (its blobs are skipped, never kept).
_READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class BlobSizes:
    """An image's blobs as its export lists them."""

    config: int
    layers: Tuple[int, ...]


def blob_sizes_of_export(stream: IO[bytes]) -> Optional[BlobSizes]:
    """The config and layer blob sizes of a one-image export read from ``stream`` (a tar, read once in order);
    None when it is not one (no ``manifest.json`` naming exactly one image, or a blob it names is missing)."""
    sizes: Dict[str, int] = {}
    manifest = None
    try:
        with tarfile.open(fileobj=stream, mode='r|', bufsize=_READ_SIZE) as archive:
            for member in archive:
                if member.isfile() and member.name.startswith('blobs/'):
                    sizes[member.name] = member.size
                elif member.isfile() and member.name == 'manifest.json' and member.size <= _MANIFEST_LIMIT:
                    content = archive.extractfile(member)
                    manifest = json.loads(content.read()) if content is not None else None
    except (tarfile.TarError, ValueError, EOFError):
        return None
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        return None
    paths = [manifest[0].get('Config')] + list(manifest[0].get('Layers') or [])
    names = [posixpath.normpath(path) if isinstance(path, str) else '' for path in paths]
    if not all(name in sizes for name in names):
        return None
    return BlobSizes(config=sizes[names[0]], layers=tuple(sizes[name] for name in names[1:]))


def images_to_export(images: List[Image], budget: int = EXPORT_BYTES_PER_RUN) -> List[Image]:
    """The fewest images whose exports split every image's bytes between its layers. Pure.

    A layer needs it where two or more images hold it and none ends at it (an image that ends at a layer sizes
    the stack up to it: its totals less its config and manifests). Layers of an image whose blob sizes are known
    already are settled. For each layer left, the holder with the least content is exported, which settles all
    of its layers; holders past the budget are left to the estimate (content_estimate).
    """
    sized = [image for image in images if image.layers and image.content_size >= 0]
    tops = {image.layers[-1].chain_id for image in sized}
    holders: Dict[str, Set[str]] = {}
    for image in sized:
        for layer in image.layers:
            holders.setdefault(layer.chain_id, set()).add(image.id)
    settled = {layer.chain_id for image in sized if image.layer_blobs is not None for layer in image.layers}
    by_id = {image.id: image for image in sized}
    chosen: List[Image] = []
    left = budget
    for chain in sorted(holders):
        if chain in tops or chain in settled or len(holders[chain]) < 2:
            continue
        candidates = sorted((by_id[image_id] for image_id in holders[chain]
                             if by_id[image_id].content_size <= left), key=lambda image: (image.content_size, image.id))
        if not candidates:
            continue
        chosen.append(candidates[0])
        left -= candidates[0].content_size
        settled.update(layer.chain_id for layer in candidates[0].layers)
    return chosen


def read_blob_sizes(engine: Engine, image: Image) -> Optional[BlobSizes]:
    """One image's blob sizes from its export; None where the engine cannot export it (gone meanwhile, content
    missing) or the export does not fit its layers."""
    try:
        sizes = engine.read_stream('/images/%s/get' % image.id, None, blob_sizes_of_export)
    except EngineError:
        return None
    if sizes is None or len(sizes.layers) != len(image.layers or []):
        return None
    return sizes


def add_layer_blobs(engine: Engine, images: List[Image]) -> None:
    """Export the images images_to_export chooses and fill in their blob sizes (the config's, exact, replaces
    its estimate)."""
    chosen = images_to_export(images)
    for image, sizes in zip(chosen, map_concurrently(lambda image: read_blob_sizes(engine, image), chosen, workers=2)):
        if sizes is not None:
            image.layer_blobs = list(sizes.layers)
            image.config_bytes = sizes.config
