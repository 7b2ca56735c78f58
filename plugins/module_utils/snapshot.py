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
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.disk_usage import disk_usage_query, legacy_disk_usage
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    API_DF_TYPE_FILTER, API_VOLUME_ANONYMOUS_LABEL, Engine, EngineAPIError, map_concurrently)
from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import (
    add_df_sizes, built_by_buildkit, chain_ids, image_store_name, layers_from_history, parse_build_cache, parse_containers,
    parse_images, parse_networks, parse_precise_timestamp, parse_timestamp, parse_volumes)
from ansible_collections.cachewarden.docker.plugins.module_utils.derived_layers import derive, history_to_read
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


def _add_image_detail(engine: Engine, images: List[Image], containerd_store: bool) -> List[str]:
    """Layers with their sizes, the last tag time, whether BuildKit built it and, on the containerd store,
    the content size; returns the IDs of the images whose layer sizes were derived (history not read).

    One inspect per image. History (one more call per image) is read where the layer sizes cannot be
    derived from image sizes (see layers_from_history; not on the containerd store, whose sizes are not sums of
    layers). For the images left, _add_buildkit_flags reads it where BuildKit matters.
    """
    inspects = map_concurrently(lambda image: _if_present(lambda: engine.get('/images/%s/json' % image.id)), images)
    gone = {image.id for image, inspect in zip(images, inspects) if inspect is None}
    if gone:
        _forget_images(images, gone)
        inspects = [inspect for inspect in inspects if inspect is not None]
    diff_ids: Dict[str, List[str]] = {}
    for image, inspect in zip(images, inspects):
        diff_ids[image.id] = (inspect.get('RootFS') or {}).get('Layers') or []
        image.last_tagged = parse_timestamp((inspect.get('Metadata') or {}).get('LastTagTime'))
        image.created_precise = parse_precise_timestamp(inspect.get('Created'))
        if containerd_store:
            image.content_size = int(inspect.get('Size') or 0)
    by_id = {image.id: image for image in images}
    read: Set[str] = set()

    def read_history(image_ids: List[str]) -> None:
        for image_id, history in zip(image_ids, _histories(engine, image_ids)):
            read.add(image_id)
            by_id[image_id].layers = layers_from_history(diff_ids[image_id], history)
            by_id[image_id].buildkit = built_by_buildkit(history)

    if containerd_store:
        read_history(list(by_id))
        return []
    stacks = {image.id: (chain_ids(diff_ids[image.id]), image.size) for image in images}
    known: Dict[str, int] = {}
    resolved: Dict[str, List[int]] = {}
    while True:
        unread = {image_id: stack for image_id, stack in stacks.items() if image_id not in read}
        resolved.update(derive({image_id: stack for image_id, stack in unread.items() if image_id not in resolved}, known))
        batch = history_to_read(unread, resolved)
        if not batch:
            break
        read_history(batch)
        for image_id in batch:
            known.update((layer.chain_id, layer.size) for layer in by_id[image_id].layers or [])
    for image_id, sizes in resolved.items():
        by_id[image_id].layers = [Layer(chain, size) for chain, size in zip(stacks[image_id][0], sizes)]
    return sorted(resolved)


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


def _add_buildkit_flags(engine: Engine, images: List[Image], derived: List[str], shared_cache_sizes: Set[int]) -> None:
    """Whether BuildKit built the images whose layers were derived, where it matters: a layer as large as a
    shared build cache record (the planner links those only by size)."""
    by_id = {image.id: image for image in images}
    wanted = [image_id for image_id in derived
              if any(layer.size in shared_cache_sizes for layer in by_id[image_id].layers or [])]
    for image_id, history in zip(wanted, _histories(engine, wanted)):
        by_id[image_id].buildkit = built_by_buildkit(history)


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


def read_build_cache(engine: Engine) -> List[BuildCacheRecord]:
    """The build cache alone, as it is now (after a prune, to see what it freed)."""
    params = {'type': ['build-cache']} if engine.supports(API_DF_TYPE_FILTER) else None
    return parse_build_cache(_disk_usage(engine, params).get('BuildCache') or [])


def read_snapshot(engine: Engine, walk_sizes: bool = True, image_detail: bool = False,
                  events_since: Optional[int] = None, stop_times: bool = False) -> Snapshot:
    """Read the engine once.

    ``walk_sizes`` lets the engine walk container layers and volumes for their sizes (costly on big
    hosts); engines older than API 1.42 always do that walk inside ``GET /system/df``.
    ``image_detail`` inspects every image for its layer sizes and last tag time (to predict freed bytes
    and order by last use).
    ``events_since`` also reads container create/start events from then until now.
    ``stop_times`` inspects stopped containers for when they stopped (their age for a prune).
    Objects removed by someone else while the snapshot is read are left out, never an error.
    """
    taken_at = int(time.time())
    walk = bool(walk_sizes or not engine.supports(API_DF_TYPE_FILTER))
    with ThreadPoolExecutor(max_workers=1) as background:
        # GET /system/df is the slow call (the engine sizes every image and, with `walk`, every container layer
        # and volume): it runs while the rest is read.
        pending_df = background.submit(_disk_usage, engine, None if walk else {'type': ['image', 'build-cache']})
        info, image_listing, network_listing, container_listing, volume_listing = map_concurrently(
            lambda read: read(), [
                lambda: engine.get('/info') or {},
                lambda: engine.get('/images/json', params={'all': 1}) or [],
                lambda: engine.get('/networks') or [],
                lambda: [] if walk else engine.get('/containers/json', params={'all': 1}) or [],
                lambda: [] if walk else (engine.get('/volumes') or {}).get('Volumes') or []])
        images = parse_images(image_listing)
        derived = _add_image_detail(engine, images, image_store_name(info) == 'containerd') if image_detail else []
        df = pending_df.result()
    if walk:
        container_listing = df.get('Containers') or []
        volume_listing = df.get('Volumes') or []
    df_images = df.get('Images') or []
    add_df_sizes(images, df_images)
    containers = parse_containers(container_listing)
    if stop_times:
        vanished = set(_add_stop_times(engine, containers))
        containers = [container for container in containers if container.id not in vanished]
    by_id = {image.id: image for image in images}
    for container in containers:
        if container.image_id in by_id:
            by_id[container.image_id].containers.append(container.id)
    build_cache = parse_build_cache(df.get('BuildCache') or [])
    if image_detail:
        _add_buildkit_flags(engine, images, derived,
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
    )
