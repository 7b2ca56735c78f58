# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records everything after the engine read works on: images, containers, volumes, networks, build cache.

Plain data, no engine and no Docker SDK: the planner, the facts, the usage state and the result code
import these, so they can be unit-tested on records built by hand. Sizes are bytes; -1 means the engine
did not compute the number (a size walk that was switched off or is not offered by the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

if TYPE_CHECKING:  # image_detail builds on these records
    from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import DetailCache

# Networks the engine or swarm mode creates for itself: never removed, never counted as unused.
BUILTIN_NETWORKS = frozenset(('bridge', 'host', 'none', 'ingress', 'docker_gwbridge'))
# The label an image names its base image with (protect_base_images keeps that image).
BASE_IMAGE_LABEL = 'base_image'


@dataclass(frozen=True)
class Layer:
    """One layer of an image, named by its chain ID so equal stacks compare equal."""

    chain_id: str
    size: int
    # The history's CreatedBy of the step that made it, where the history was read; not part of what a layer is.
    step: str = field(default='', compare=False)


@dataclass
class Image:
    """An image as `docker images -a` lists it, with the sizes `docker system df -v` shows."""

    id: str
    tags: List[str]
    digests: List[str]
    parent: str
    created: int
    size: int
    shared_size: int
    labels: Dict[str, str]
    containers: List[str] = field(default_factory=list)
    children: List[str] = field(default_factory=list)
    layers: Optional[List[Layer]] = None
    last_tagged: int = 0
    content_size: int = -1  # containerd store only: bytes of the image's blobs in the content store
    created_precise: float = 0.0  # creation with its fraction of a second, when the image was inspected
    buildkit: bool = False  # built by BuildKit (its layers may be snapshots the build cache holds)
    unpacked_size: int = -1  # containerd store, API 1.47+: bytes of its unpacked snapshots (the listing's manifests)
    # Containerd store: bytes of its manifests and index (API 1.47+, the listing's descriptors: exact) and of its
    # config blob (estimated from inspect and history, see engine_answers.config_bytes, or read from an export with
    # layer_blobs); -1 where not known.
    manifest_bytes: int = -1
    config_bytes: int = -1
    layer_blobs: Optional[List[int]] = None  # containerd store: each layer's blob bytes, where read (layer_blobs.py)

    @property
    def meta_bytes(self) -> int:
        """Bytes of the image's own config and manifests (0 where not known): none of its layers holds them."""
        return max(self.manifest_bytes, 0) + max(self.config_bytes, 0)

    @property
    def untagged(self) -> bool:
        """No repository tag (it may still have a digest reference)."""
        return not self.tags

    @property
    def intermediate(self) -> bool:
        """Untagged parent of another image: only `docker images -a` shows it."""
        return self.untagged and bool(self.children)

    @property
    def dangling(self) -> bool:
        """What `docker images -f dangling=true` lists: untagged, and no image builds on it."""
        return self.untagged and not self.children

    @property
    def unique_size(self) -> int:
        """Bytes only this image holds (``size`` when the shared size is unknown)."""
        return self.size - self.shared_size if self.shared_size >= 0 else self.size


@dataclass
class Container:
    """A container in any state; it pins its image and its volumes."""

    id: str
    names: List[str]
    image_id: str
    image: str
    state: str
    created: int
    size_rw: int
    volumes: List[str]
    networks: List[str]
    labels: Dict[str, str]
    config_image: str = ''  # the reference it was created from, when the listing shows only an ID
    finished: int = 0  # when a stopped container stopped (State.FinishedAt), when read; 0 unknown or never ran
    size_root_fs: int = -1  # SizeRootFs: its image's unpacked layers and its writable layer (-1 when not computed)
    # Containerd store: bytes of its writable snapshot, which the engine counts among image layers (LayersSize)
    # besides SizeRw; -1 elsewhere or when not known (see engine_answers.add_writable_snapshots).
    snapshot_bytes: int = -1

    @property
    def disk_bytes(self) -> int:
        """What removing it frees: its writable snapshot where known, else SizeRw (0 when not computed)."""
        return self.snapshot_bytes if self.snapshot_bytes >= 0 else max(self.size_rw, 0)

    @property
    def active(self) -> bool:
        """Counted ACTIVE by `docker system df`: running, paused or restarting."""
        return self.state in ('running', 'paused', 'restarting')


@dataclass
class Volume:
    """A volume; ``ref_count`` is the number of containers using it (-1 when not computed)."""

    name: str
    driver: str
    anonymous: bool
    labels: Dict[str, str]
    created: int
    size: int
    ref_count: int


@dataclass
class Network:
    """A network and the number of containers attached to it."""

    id: str
    name: str
    driver: str
    labels: Dict[str, str]
    created: int
    containers: int

    @property
    def builtin(self) -> bool:
        """The engine's own networks, which nothing may remove."""
        return self.name in BUILTIN_NETWORKS


@dataclass
class BuildCacheRecord:
    """One BuildKit cache record as `docker buildx du` / `docker system df -v` list it."""

    id: str
    type: str
    description: str
    in_use: bool
    shared: bool
    size: int
    created: int
    last_used: int
    usage_count: int
    parents: List[str]
    created_precise: float = 0.0  # creation with its fraction of a second


@dataclass
class EngineInfo:
    """Who the engine is and where it keeps its data."""

    version: str
    api_version: str
    os: str
    arch: str
    storage_driver: str
    image_store: str
    root_dir: str


@dataclass
class Filesystem:
    """The filesystem holding DockerRootDir, as seen from the managed host."""

    path: str
    size_bytes: int
    free_bytes: int
    used_bytes: int

    @property
    def used_percent(self) -> float:
        """Used share as `df` computes it: used / (used + available), 0-100, two decimals."""
        usable = self.used_bytes + self.free_bytes
        return round(100.0 * self.used_bytes / usable, 2) if usable else 0.0


@dataclass
class Snapshot:
    """Everything one run needs from the engine, read once."""

    taken_at: int
    engine: EngineInfo
    filesystem: Optional[Filesystem]
    images: List[Image]
    containers: List[Container]
    volumes: List[Volume]
    networks: List[Network]
    build_cache: List[BuildCacheRecord]
    layers_size: int
    df_image_ids: List[str]
    sizes_computed: bool
    events: List[Tuple[str, int]] = field(default_factory=list)
    events_until: Optional[int] = None  # the end of the event window read, None when no events were read
    # The per-image detail read, None when the images were not inspected.
    image_detail: Optional[DetailCache] = None
    # Images whose last tag time came from the previous run's entry, not from the engine now.
    cached_tag_times: Set[str] = field(default_factory=set)

    def image_by_id(self) -> Dict[str, Image]:
        """Index of images by full ID."""
        return {image.id: image for image in self.images}


def normalize_reference(reference: str) -> str:
    """Canonical short form of an image reference: no docker.io/library/, an explicit tag."""
    ref = reference.strip()
    for prefix in ('docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/'):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    name = ref.split('@', 1)[0]
    if '@' not in ref and ':' not in name.rsplit('/', 1)[-1]:
        ref += ':latest'
    return ref


def image_name(image: Image) -> str:
    """A readable name: the first tag, else the short ID."""
    return image.tags[0] if image.tags else image.id.split(':', 1)[-1][:12]
