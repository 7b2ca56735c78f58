# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the engine once into records (records.py); the answers are parsed in engine_answers.py.

Everything after this module (facts, planner, results) works on the records only.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.disk_usage import disk_usage_query, legacy_disk_usage
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    API_DF_TYPE_FILTER, API_IMAGE_MANIFESTS, API_VOLUME_ANONYMOUS_LABEL, Engine, EngineAPIError, map_concurrently)
from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import (
    add_df_sizes, add_writable_snapshots, built_by_buildkit, chain_ids, config_bytes, image_store_name, layers_from_history,
    parse_build_cache, parse_containers, parse_images, parse_networks, parse_precise_timestamp, parse_timestamp, parse_volumes)
from ansible_collections.cachewarden.docker.plugins.module_utils.derived_layers import derive, history_to_read
from ansible_collections.cachewarden.docker.plugins.module_utils.layer_blobs import add_layer_blobs
from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import (
    DetailCache, ImageDetail, apply_detail, detail_of, engine_key)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BuildCacheRecord, Container, EngineInfo, Filesystem, Image, Layer, Snapshot)

DF_RETRIES = 5


def _filesystem(root_dir: str, docker_host: str) -> Optional[Filesystem]:
    """statvfs of DockerRootDir; only meaningful when the engine runs on this host."""
    if not docker_host.startswith('unix://') or not os.path.isdir(root_dir):
        return None
    stat = os.statvfs(root_dir)
    return Filesystem(path=root_dir, size_bytes=stat.f_blocks * stat.f_frsize,
                      free_bytes=stat.f_bavail * stat.f_frsize,
                      used_bytes=(stat.f_blocks - stat.f_bfree) * stat.f_frsize)


@dataclass
class _DetailRead:
    """How the per-image detail of one snapshot was come by."""

    listed_sizes: Dict[str, int]  # GET /images/json Size per image (GET /system/df may size it otherwise)
    cached: Dict[str, ImageDetail]  # entries of the previous run used as they were (no engine call)
    tags_read: Set[str] = field(default_factory=set)  # images whose tag time was read now
    history_read: Set[str] = field(default_factory=set)
    derived: Set[str] = field(default_factory=set)  # layer sizes derived: history not read

    def buildkit_unknown(self) -> List[str]:
        """Images whose history was never read, so whether BuildKit built them is not known."""
        return sorted(self.derived | {image_id for image_id, detail in self.cached.items() if detail.buildkit is None})


def _usable_detail(images: List[Image], known: Optional[DetailCache], key: str,
                   containerd_store: bool) -> Dict[str, ImageDetail]:
    """The previous run's entries that still stand for these images (same engine, same listed size)."""
    if known is None or known.engine != key:
        return {}
    return {image.id: known.images[image.id] for image in images
            if image.id in known.images and known.images[image.id].fits(image, containerd_store)}


def _add_image_detail(engine: Engine, images: List[Image], containerd_store: bool,
                      cached: Dict[str, ImageDetail]) -> _DetailRead:
    """Layers with their sizes, the last tag time, whether BuildKit built it and, on the containerd store,
    the content size.

    Images with an entry in ``cached`` (the previous run's, see image_detail.py) take it as it is, and are
    inspected only when their tags changed (for the new tag time). The others: one inspect each, and the
    history (one more call per image) where the layer sizes cannot be derived from image sizes (see
    layers_from_history; not on the containerd store, whose sizes are not sums of layers). For the images
    left, _add_buildkit_flags reads it where BuildKit matters.
    """
    read = _DetailRead(listed_sizes={image.id: image.size for image in images}, cached=dict(cached))
    for image in images:
        if image.id in cached:
            apply_detail(image, cached[image.id])
    to_inspect = [image for image in images if image.id not in cached or cached[image.id].tags != tuple(image.tags)]
    inspects, gone = _inspect_images(engine, images, to_inspect)
    for image_id in gone:
        read.cached.pop(image_id, None)
    diff_ids: Dict[str, List[str]] = {}
    inspected: Dict[str, Dict[str, Any]] = {}
    for image, inspect in zip(to_inspect, inspects):
        if inspect is None:
            continue
        read.tags_read.add(image.id)
        image.last_tagged = _last_tag_time(inspect)
        if image.id in read.cached:
            continue
        diff_ids[image.id] = (inspect.get('RootFS') or {}).get('Layers') or []
        image.created_precise = parse_precise_timestamp(inspect.get('Created'))
        if containerd_store:
            image.content_size = int(inspect.get('Size') or 0)
            inspected[image.id] = inspect
    by_id = {image.id: image for image in images}

    def read_history(image_ids: List[str]) -> None:
        for image_id, history in zip(image_ids, _histories(engine, image_ids)):
            read.history_read.add(image_id)
            by_id[image_id].layers = layers_from_history(diff_ids[image_id], history)
            by_id[image_id].buildkit = built_by_buildkit(history)
            if image_id in inspected and history:
                by_id[image_id].config_bytes = config_bytes(inspected[image_id], history)

    if containerd_store:
        read_history(sorted(diff_ids))
        return read
    stacks = {image_id: (chain_ids(layers), by_id[image_id].size) for image_id, layers in diff_ids.items()}
    known = {layer.chain_id: layer.size for detail in read.cached.values() for layer in detail.layers}
    resolved: Dict[str, List[int]] = {}
    while True:
        unread = {image_id: stack for image_id, stack in stacks.items() if image_id not in read.history_read}
        resolved.update(derive({image_id: stack for image_id, stack in unread.items() if image_id not in resolved}, known))
        batch = history_to_read(unread, resolved)
        if not batch:
            break
        read_history(batch)
        for image_id in batch:
            known.update((layer.chain_id, layer.size) for layer in by_id[image_id].layers or [])
    for image_id, sizes in resolved.items():
        by_id[image_id].layers = [Layer(chain, size) for chain, size in zip(stacks[image_id][0], sizes)]
    read.derived.update(resolved)
    return read


def _inspect_images(engine: Engine, images: List[Image], wanted: List[Image]) -> Tuple[List[Optional[Dict[str, Any]]], Set[str]]:
    """The inspect answers of ``wanted`` (None for an image removed since the listing) and the IDs of those removed,
    which are dropped from ``images`` with the links to them."""
    inspects = map_concurrently(lambda image: _if_present(lambda: engine.get('/images/%s/json' % image.id)), wanted)
    gone = {image.id for image, inspect in zip(wanted, inspects) if inspect is None}
    if gone:
        _forget_images(images, gone)
    return inspects, gone


def _last_tag_time(inspect: Dict[str, Any]) -> int:
    return parse_timestamp((inspect.get('Metadata') or {}).get('LastTagTime'))


def _histories(engine: Engine, image_ids: List[str]) -> List[List[Dict[str, Any]]]:
    """Each image's history; empty for an image removed since it was listed (it is dropped at the next read)."""
    return map_concurrently(lambda image_id: _if_present(lambda: engine.get('/images/%s/history' % image_id)) or [],
                            image_ids)


def _forget_images(images: List[Image], gone: Set[str]) -> None:
    """Drop images removed since the listing (by another client), and the links to them."""
    images[:] = [image for image in images if image.id not in gone]
    for image in images:
        image.children = [child for child in image.children if child not in gone]
        if image.parent in gone:
            image.parent = ''


def _add_buildkit_flags(engine: Engine, images: List[Image], read: _DetailRead, shared_cache_sizes: Set[int]) -> None:
    """Whether BuildKit built the images whose history was not read, where it matters: a layer as large as a
    shared build cache record (the planner links those only by size)."""
    by_id = {image.id: image for image in images}
    wanted = [image_id for image_id in read.buildkit_unknown() if image_id in by_id
              and any(layer.size in shared_cache_sizes for layer in by_id[image_id].layers or [])]
    for image_id, history in zip(wanted, _histories(engine, wanted)):
        by_id[image_id].buildkit = built_by_buildkit(history)
        read.history_read.add(image_id)


def _detail_cache(images: List[Image], read: _DetailRead, key: str) -> DetailCache:
    """The entries of this snapshot's images, for the next read (kept in the state file by prune_run)."""
    cache = DetailCache(engine=key)
    for image in images:
        detail = detail_of(image, read.listed_sizes[image.id], image.id in read.history_read
                           or (image.id in read.cached and read.cached[image.id].buildkit is not None))
        if detail is not None:
            cache.images[image.id] = detail
    return cache


def refresh_tag_times(engine: Engine, snapshot: Snapshot, image_ids: List[str]) -> None:
    """Read the tag time of these images again, where the snapshot took it from the previous run's entry.

    Images removed since are left out of the snapshot, like at the first read."""
    by_id = snapshot.image_by_id()
    wanted = [by_id[image_id] for image_id in image_ids if image_id in by_id]
    inspects, gone = _inspect_images(engine, snapshot.images, wanted)
    entries = snapshot.image_detail.images if snapshot.image_detail is not None else {}
    for image, inspect in zip(wanted, inspects):
        snapshot.cached_tag_times.discard(image.id)
        if inspect is not None:
            image.last_tagged = _last_tag_time(inspect)
            if image.id in entries:
                entries[image.id] = replace(entries[image.id], tags=tuple(image.tags), last_tagged=image.last_tagged)
    for image_id in gone:
        entries.pop(image_id, None)


def _add_config_image(engine: Engine, container: Container) -> None:
    """The image reference a container was created with (its listing shows only an ID then)."""
    inspect = _if_present(lambda: engine.get('/containers/%s/json' % container.id)) or {}
    container.config_image = (inspect.get('Config') or {}).get('Image') or ''


def _events(engine: Engine, since: int, until: int) -> List[Tuple[str, int]]:
    """(image reference or ID, time) for each container create/start since ``since``."""
    filters = '{"type":["container"],"event":["create","start"]}'
    events = []
    for item in engine.get_json_lines('/events', params={'since': since, 'until': until, 'filters': filters}):
        image = ((item.get('Actor') or {}).get('Attributes') or {}).get('image') or item.get('from')
        if image:
            events.append((image, int(item.get('time') or 0)))
    return events


def _if_present(read: Callable[[], Any]) -> Any:
    """The answer of a read, or None when the object went away since it was listed (404)."""
    try:
        return read()
    except EngineAPIError as exc:
        if exc.status_code == 404:
            return None
        raise


def _add_stop_times(engine: Engine, containers: List[Container]) -> List[str]:
    """When each stopped container stopped; returns the IDs of containers gone since the listing."""
    stopped = [container for container in containers if container.state in ('exited', 'dead')]
    inspects = map_concurrently(lambda c: _if_present(lambda: engine.get('/containers/%s/json' % c.id)), stopped)
    gone = []
    for container, inspect in zip(stopped, inspects):
        if inspect is None:
            gone.append(container.id)
        else:
            container.finished = parse_timestamp((inspect.get('State') or {}).get('FinishedAt'))
    return gone


def _disk_usage(engine: Engine, params: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """GET /system/df, retried briefly on 404: the containerd store can report a snapshot that
    a finishing build just removed."""
    for attempt in range(DF_RETRIES):
        try:
            return legacy_disk_usage(engine.get('/system/df', params=disk_usage_query(params, engine.api_version)) or {})
        except EngineAPIError as exc:
            if exc.status_code != 404 or attempt == DF_RETRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError('unreachable')  # pragma: no cover


def _disk_usage_of(engine: Engine, kind: str) -> Dict[str, Any]:
    """GET /system/df for one kind of object (``image``, ``build-cache``) where the API can filter, else all."""
    return _disk_usage(engine, {'type': [kind]} if engine.supports(API_DF_TYPE_FILTER) else None)


def read_build_cache(engine: Engine) -> List[BuildCacheRecord]:
    """The build cache alone, as it is now (after a prune, to see what it freed)."""
    return parse_build_cache(_disk_usage_of(engine, 'build-cache').get('BuildCache') or [])


def read_layers_size(engine: Engine) -> int:
    """The engine's ``LayersSize`` now."""
    return int(_disk_usage_of(engine, 'image').get('LayersSize') or 0)


def read_snapshot(engine: Engine, walk_sizes: bool = True, image_detail: bool = False,
                  events_since: Optional[int] = None, stop_times: bool = False,
                  known: Optional[DetailCache] = None) -> Snapshot:
    """Read the engine once.

    ``walk_sizes`` lets the engine walk container layers and volumes for their sizes (costly on big
    hosts); engines older than API 1.42 always do that walk inside ``GET /system/df``.
    ``image_detail`` inspects every image for its layer sizes and last tag time (to predict freed bytes
    and order by last use); the entries of ``known`` (a previous read of this engine) stand in for
    the reads of the images they name (image_detail.py).
    ``events_since`` also reads container create/start events from then until now.
    ``stop_times`` inspects stopped containers for when they stopped (their age for a prune).
    Objects removed by someone else while the snapshot is read are left out, never an error.
    """
    taken_at = int(time.time())
    walk = bool(walk_sizes or not engine.supports(API_DF_TYPE_FILTER))
    # The containerd store's unpacked image sizes (the manifests) tell its containers' writable snapshots apart.
    image_listing_query = dict({'all': 1}, **({'manifests': 1} if engine.supports(API_IMAGE_MANIFESTS) else {}))
    with ThreadPoolExecutor(max_workers=1) as background:
        # GET /system/df is the slow call (the engine sizes every image and, with `walk`, every container layer
        # and volume): it runs while the rest is read.
        pending_df = background.submit(_disk_usage, engine, None if walk else {'type': ['image', 'build-cache']})
        info, image_listing, network_listing, container_listing, volume_listing = map_concurrently(
            lambda read: read(), [
                lambda: engine.get('/info') or {},
                lambda: engine.get('/images/json', params=image_listing_query) or [],
                lambda: engine.get('/networks') or [],
                lambda: [] if walk else engine.get('/containers/json', params={'all': 1}) or [],
                lambda: [] if walk else (engine.get('/volumes') or {}).get('Volumes') or []])
        images = parse_images(image_listing)
        store, key = image_store_name(info), engine_key(str(info.get('ID') or ''), image_store_name(info))
        read = _add_image_detail(engine, images, store == 'containerd',
                                 _usable_detail(images, known, key, store == 'containerd')) if image_detail else None
        if read is not None and store == 'containerd':
            add_layer_blobs(engine, images)
        df = pending_df.result()
    if walk:
        container_listing = df.get('Containers') or []
        volume_listing = df.get('Volumes') or []
    df_images = df.get('Images') or []
    add_df_sizes(images, df_images)
    containers = parse_containers(container_listing)
    if store == 'containerd':
        add_writable_snapshots(containers, images)
    if stop_times:
        vanished = set(_add_stop_times(engine, containers))
        containers = [container for container in containers if container.id not in vanished]
    by_id = {image.id: image for image in images}
    for container in containers:
        if container.image_id in by_id:
            by_id[container.image_id].containers.append(container.id)
    build_cache = parse_build_cache(df.get('BuildCache') or [])
    if read is not None:
        _add_buildkit_flags(engine, images, read,
                            {record.size for record in build_cache if record.shared and record.size > 0})
        map_concurrently(lambda container: _add_config_image(engine, container),
                         [container for container in containers if container.image.startswith('sha256:')])
    root_dir = info.get('DockerRootDir') or '/var/lib/docker'
    return Snapshot(
        taken_at=taken_at,
        engine=EngineInfo(
            version=engine.version_info.get('Version') or '',
            api_version=engine.api_version,
            os=info.get('OSType') or '',
            arch=info.get('Architecture') or '',
            storage_driver=info.get('Driver') or '',
            image_store=image_store_name(info),
            root_dir=root_dir,
        ),
        filesystem=_filesystem(root_dir, engine.docker_host),
        images=images,
        containers=containers,
        volumes=parse_volumes(volume_listing, containers, engine.supports(API_VOLUME_ANONYMOUS_LABEL)),
        networks=parse_networks(network_listing, containers),
        build_cache=build_cache,
        layers_size=int(df.get('LayersSize') or 0),
        df_image_ids=[item['Id'] for item in df_images],
        sizes_computed=walk,
        events=_events(engine, events_since, taken_at) if events_since is not None else [],
        events_until=taken_at if events_since is not None else None,
        image_detail=_detail_cache(images, read, key) if read is not None else None,
        cached_tag_times={image.id for image in images if read is not None and image.id not in read.tags_read},
    )
