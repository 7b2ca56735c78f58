# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concise builders for hand-made snapshots used by the planner, state and report tests.

``snapshot()`` owns every derived field, so callers only state facts once:
image children and container lists, shared sizes of images with layer detail, volume ref
counts, network attachment counts, ``layers_size`` and ``df_image_ids``. It can be called
again on (copies of) the same objects, e.g. to build the host as it looks after a plan.
"""

from __future__ import annotations

import hashlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy, validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BuildCacheRecord, Container, EngineInfo, Filesystem, Image, Layer, Network, Snapshot, Volume)

NOW = 1_700_000_000  # every snapshot is taken at this instant
HOUR = 3600
DAY = 86400
GB = 1000 ** 3
MB = 1000 ** 2

ENGINE = EngineInfo(version='27.3.1', api_version='1.47', os='linux', arch='x86_64',
                    storage_driver='overlay2', image_store='overlay2', root_dir='/var/lib/docker')


def image_id(name: str) -> str:
    """A stable full image ID for a short readable name (an ID passes through unchanged)."""
    if name.startswith('sha256:'):
        return name
    return 'sha256:' + hashlib.sha256(name.encode('utf-8')).hexdigest()


def image(name: str, *tags: str, parent: Optional[Image] = None, layers: Optional[Sequence[Tuple[str, int]]] = None,
          size: Optional[int] = None, shared_size: int = 0, created: int = NOW - 30 * DAY,
          labels: Optional[Dict[str, str]] = None, last_tagged: int = 0) -> Image:
    """An image named ``name`` (its ID derives from it) with ``tags``.

    ``layers`` are (chain_id, size) pairs of the image's *own* layers; a child also carries its
    parent's layers, as on a real engine. Without layers the image has no layer detail and
    ``size``/``shared_size`` are used as given (the planner's unique_size fallback).
    """
    stack: Optional[List[Layer]] = None
    if layers is not None or (parent is not None and parent.layers is not None):
        inherited = list(parent.layers or []) if parent is not None else []
        stack = inherited + [Layer(chain_id=chain, size=bytes_) for chain, bytes_ in layers or ()]
    if size is None:
        size = sum(layer.size for layer in stack) if stack is not None else 0
    return Image(id=image_id(name), tags=list(tags), digests=[], parent=parent.id if parent is not None else '',
                 created=created, size=size, shared_size=shared_size, labels=dict(labels or {}),
                 layers=stack, last_tagged=last_tagged)


def stored(made: Image, content: int, unpacked: int) -> Image:
    """``made`` as the containerd store lists it: its content (blobs) and unpacked (snapshot) bytes."""
    made.content_size, made.unpacked_size = content, unpacked
    return made


def container(name: str, used_image: Optional[Image] = None, state: str = 'exited', created: int = NOW - 30 * DAY,
              volumes: Iterable[str] = (), networks: Iterable[str] = (), labels: Optional[Dict[str, str]] = None,
              size_rw: int = 0, image_ref: Optional[str] = None) -> Container:
    """A container named ``name`` using ``used_image``."""
    ident = hashlib.sha256(('container:' + name).encode('utf-8')).hexdigest()
    ref = image_ref if image_ref is not None else (
        (used_image.tags[0] if used_image.tags else used_image.id) if used_image is not None else '')
    return Container(id=ident, names=[name], image_id=used_image.id if used_image is not None else '', image=ref,
                     state=state, created=created, size_rw=size_rw, volumes=sorted(volumes),
                     networks=sorted(networks), labels=dict(labels or {}))


def volume(name: str, anonymous: bool = False, size: int = 0, created: int = NOW - 30 * DAY,
           labels: Optional[Dict[str, str]] = None) -> Volume:
    """A local volume; its ref_count is filled in by ``snapshot()``."""
    return Volume(name=name, driver='local', anonymous=anonymous, labels=dict(labels or {}), created=created,
                  size=size, ref_count=0)


def network(name: str, created: int = NOW - 30 * DAY, labels: Optional[Dict[str, str]] = None,
            driver: str = 'bridge') -> Network:
    """A network; its attachment count is filled in by ``snapshot()``."""
    ident = hashlib.sha256(('network:' + name).encode('utf-8')).hexdigest()
    return Network(id=ident, name=name, driver=driver, labels=dict(labels or {}), created=created, containers=0)


def cache(ident: str, size: int, kind: str = 'regular', last_used: int = NOW - 30 * DAY, created: int = 0,
          in_use: bool = False, shared: bool = False, parents: Iterable[str] = ()) -> BuildCacheRecord:
    """A build cache record; ``created`` defaults to ``last_used``."""
    return BuildCacheRecord(id=ident, type=kind, description='%s record %s' % (kind, ident), in_use=in_use,
                            shared=shared, size=size, created=created or last_used, last_used=last_used,
                            usage_count=1, parents=list(parents))


def filesystem(size_bytes: int, used_bytes: int) -> Filesystem:
    """The Docker root filesystem with nothing reserved: free = size - used."""
    return Filesystem(path='/var/lib/docker', size_bytes=size_bytes, free_bytes=size_bytes - used_bytes,
                      used_bytes=used_bytes)


def layer_sizes(images: Iterable[Image]) -> Dict[str, int]:
    """Layer key -> size, each distinct layer once; images without detail hold one private layer."""
    sizes: Dict[str, int] = {}
    for img in images:
        if img.layers is None:
            sizes['own:' + img.id] = img.unique_size
        else:
            for layer in img.layers:
                sizes[layer.chain_id] = layer.size
    return sizes


def snapshot(images: Iterable[Image] = (), containers: Iterable[Container] = (), volumes: Iterable[Volume] = (),
             networks: Iterable[Network] = (), build_cache: Iterable[BuildCacheRecord] = (),
             fs: Optional[Filesystem] = None, events: Iterable[Tuple[str, int]] = (),
             taken_at: int = NOW) -> Snapshot:
    """A consistent snapshot; derived fields of the given objects are (re)computed in place."""
    images, containers = list(images), list(containers)
    volumes, networks = list(volumes), list(networks)
    by_id = {img.id: img for img in images}
    holders: Dict[str, int] = {}
    for img in images:
        img.children = []
        img.containers = []
        for chain in {layer.chain_id for layer in img.layers or ()}:
            holders[chain] = holders.get(chain, 0) + 1
    for img in images:
        if img.parent in by_id:
            by_id[img.parent].children.append(img.id)
        if img.layers is not None:
            img.size = sum(layer.size for layer in img.layers)
            img.shared_size = sum(layer.size for layer in img.layers if holders[layer.chain_id] > 1)
    for ctr in containers:
        if ctr.image_id in by_id:
            by_id[ctr.image_id].containers.append(ctr.id)
    for vol in volumes:
        vol.ref_count = sum(1 for ctr in containers if vol.name in ctr.volumes)
    for net in networks:
        net.containers = sum(1 for ctr in containers if net.name in ctr.networks)
    return Snapshot(taken_at=taken_at, engine=ENGINE, filesystem=fs, images=images, containers=containers,
                    volumes=volumes, networks=networks, build_cache=list(build_cache),
                    layers_size=sum(layer_sizes(images).values()),
                    df_image_ids=[img.id for img in images if not img.intermediate], sizes_computed=True,
                    events=list(events), events_until=taken_at)


def policy(**options) -> Policy:
    """A validated policy from module-style options."""
    return validate_policy(options)
