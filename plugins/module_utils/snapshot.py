# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the engine once and turn what it says into plain data.

Everything after this module (facts, planner, reports) works on these records only, so
it can be unit-tested without an engine. Sizes are bytes; -1 means the engine did not
compute the number (a size walk that was switched off or is not offered by the API).
"""

from __future__ import annotations

import calendar
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.disk_usage import disk_usage_query, legacy_disk_usage
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    API_DF_TYPE_FILTER, API_VOLUME_ANONYMOUS_LABEL, Engine, EngineAPIError, map_concurrently)
from ansible_collections.cachewarden.docker.plugins.module_utils.layer_sizes import derive, history_to_read

# Networks the engine or swarm mode creates for itself: never removed, never counted as unused.
BUILTIN_NETWORKS = frozenset(('bridge', 'host', 'none', 'ingress', 'docker_gwbridge'))
DF_RETRIES = 5
NONE_TAG = '<none>:<none>'
NONE_DIGEST = '<none>@<none>'
_ANONYMOUS_VOLUME_LABEL = 'com.docker.volume.anonymous'
_HEX64 = re.compile(r'^[0-9a-f]{64}$')
# History entries that never carry a layer (legacy "#(nop)" and BuildKit metadata steps).
_METADATA_STEP = re.compile(r'^(/bin/sh -c #\(nop\)|(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|WORKDIR|USER|ARG|STOPSIGNAL|'
                            r'HEALTHCHECK|SHELL|ONBUILD|VOLUME|MAINTAINER)\b)')


@dataclass(frozen=True)
class Layer:
    """One layer of an image, named by its chain ID so equal stacks compare equal."""

    chain_id: str
    size: int


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

    def image_by_id(self) -> Dict[str, Image]:
        """Index of images by full ID."""
        return {image.id: image for image in self.images}


def parse_timestamp(value: Any) -> int:
    """Unix seconds from the engine's RFC 3339 strings (nanoseconds allowed) or numbers; 0 when unknown."""
    if value in (None, '', 0):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    match = re.match(r'^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$', text)
    if not match:
        return 0
    day, clock, zone = match.groups()
    seconds = calendar.timegm(time.strptime('%sT%s' % (day, clock), '%Y-%m-%dT%H:%M:%S'))
    if zone and zone != 'Z':
        sign = 1 if zone[0] == '+' else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return max(seconds, 0)


def parse_precise_timestamp(value: Any) -> float:
    """Unix seconds with the fraction the engine gives (to order things made within one second); 0 when unknown."""
    whole = parse_timestamp(value)
    match = re.match(r'^[^.]*T[0-9:]+(\.\d+)', str(value or '')) if whole else None
    return whole + float('0' + match.group(1)) if match else float(whole)


def image_store_name(info: Dict[str, Any]) -> str:
    """``containerd`` when the containerd snapshotter holds images, else the graphdriver name."""
    for key, value in info.get('DriverStatus') or []:
        if key == 'driver-type' and 'snapshotter' in str(value):
            return 'containerd'
    return info.get('Driver') or 'unknown'


def chain_ids(diff_ids: Sequence[str]) -> List[str]:
    """Chain IDs of a layer stack (the OCI image spec's definition)."""
    import hashlib  # local: only needed when layer detail is read
    result: List[str] = []
    for diff_id in diff_ids:
        if not result:
            result.append(diff_id)
        else:
            digest = hashlib.sha256(('%s %s' % (result[-1], diff_id)).encode('ascii')).hexdigest()
            result.append('sha256:' + digest)
    return result


def layer_sizes(diff_ids: Sequence[str], history: Sequence[Dict[str, Any]]) -> Optional[List[Layer]]:
    """Pair each layer with its size from the image history (oldest first); None when they cannot be paired."""
    entries = list(reversed(history))  # the API lists newest first
    sized = [entry for entry in entries if (entry.get('Size') or 0) > 0
             or not _METADATA_STEP.match((entry.get('CreatedBy') or '').strip())]
    if len(sized) != len(diff_ids):
        sized = [entry for entry in entries if (entry.get('Size') or 0) > 0]
        if len(sized) != len(diff_ids):
            return None
    return [Layer(chain_id=chain, size=int(entry.get('Size') or 0))
            for chain, entry in zip(chain_ids(diff_ids), sized)]


def _tags(summary: Dict[str, Any]) -> List[str]:
    return sorted(tag for tag in summary.get('RepoTags') or [] if tag != NONE_TAG)


def _digests(summary: Dict[str, Any]) -> List[str]:
    return sorted(digest for digest in summary.get('RepoDigests') or [] if digest != NONE_DIGEST)


def _images(listing: List[Dict[str, Any]]) -> List[Image]:
    """`GET /images/json?all=1` as records; shared sizes come later from `GET /system/df` (see _add_df_sizes)."""
    images = []
    for summary in listing:
        images.append(Image(
            id=summary['Id'],
            tags=_tags(summary),
            digests=_digests(summary),
            parent=summary.get('ParentId') or '',
            created=parse_timestamp(summary.get('Created')),
            size=int(summary.get('Size') or 0),
            shared_size=-1,
            labels=dict(summary.get('Labels') or {}),
        ))
    by_id = {image.id: image for image in images}
    for image in images:
        parent = by_id.get(image.parent)
        if parent is not None:
            parent.children.append(image.id)
    return images


def _add_df_sizes(images: List[Image], df_images: List[Dict[str, Any]]) -> None:
    """The sizes `GET /system/df` computed, where it lists the image (it leaves out intermediate ones)."""
    df_by_id = {item['Id']: item for item in df_images}
    for image in images:
        sized = df_by_id.get(image.id)
        if sized is not None:
            image.size = int(sized.get('Size') or 0)
            image.shared_size = int(sized['SharedSize']) if sized.get('SharedSize') is not None else -1


def _containers(listing: List[Dict[str, Any]]) -> List[Container]:
    containers = []
    for item in listing:
        mounts = item.get('Mounts') or []
        networks = ((item.get('NetworkSettings') or {}).get('Networks') or {}).keys()
        containers.append(Container(
            id=item['Id'],
            names=[name.lstrip('/') for name in item.get('Names') or []],
            image_id=item.get('ImageID') or '',
            image=item.get('Image') or '',
            state=item.get('State') or '',
            created=parse_timestamp(item.get('Created')),
            size_rw=int(item['SizeRw']) if item.get('SizeRw') is not None else -1,
            volumes=sorted(m['Name'] for m in mounts if m.get('Type') == 'volume' and m.get('Name')),
            networks=sorted(networks),
            labels=dict(item.get('Labels') or {}),
        ))
    return containers


def _users(containers: List[Container], attribute: str) -> Dict[str, int]:
    """How many containers name each volume (``volumes``) or network (``networks``)."""
    counts: Dict[str, int] = {}
    for container in containers:
        for name in getattr(container, attribute):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _anonymous(item: Dict[str, Any], labels: Dict[str, str], labelled_engine: bool) -> bool:
    """Docker's own definition: engines from API 1.42 (Docker 23) mark anonymous volumes with a label, and
    `docker volume prune` removes only those. Older engines mark nothing; there an anonymous volume is a
    local one with a 64-hex name and no labels, as the engine names them."""
    if (item.get('Driver') or 'local') != 'local':
        return False
    if labelled_engine:
        return _ANONYMOUS_VOLUME_LABEL in labels
    return not labels and bool(_HEX64.match(item['Name']))


def _volumes(listing: List[Dict[str, Any]], containers: List[Container], labelled_engine: bool) -> List[Volume]:
    used = _users(containers, 'volumes')
    volumes = []
    for item in listing:
        labels = dict(item.get('Labels') or {})
        usage = item.get('UsageData') or {}
        volumes.append(Volume(
            name=item['Name'],
            driver=item.get('Driver') or 'local',
            anonymous=_anonymous(item, labels, labelled_engine),
            labels=labels,
            created=parse_timestamp(item.get('CreatedAt')),
            size=int(usage['Size']) if usage.get('Size') is not None else -1,
            ref_count=int(usage['RefCount']) if usage.get('RefCount', -1) >= 0 else used.get(item['Name'], 0),
        ))
    return volumes


def _networks(listing: List[Dict[str, Any]], containers: List[Container]) -> List[Network]:
    attached = _users(containers, 'networks')
    return [Network(
        id=item['Id'],
        name=item['Name'],
        driver=item.get('Driver') or '',
        labels=dict(item.get('Labels') or {}),
        created=parse_timestamp(item.get('Created')),
        containers=attached.get(item['Name'], 0),
    ) for item in listing]


def parse_build_cache(listing: List[Dict[str, Any]]) -> List[BuildCacheRecord]:
    """The build cache records of a GET /system/df answer."""
    records = []
    for item in listing or []:
        parents = item.get('Parents') or ([item['Parent']] if item.get('Parent') else [])
        records.append(BuildCacheRecord(
            id=item['ID'],
            type=item.get('Type') or '',
            description=item.get('Description') or '',
            in_use=bool(item.get('InUse')),
            shared=bool(item.get('Shared')),
            size=int(item.get('Size') or 0),
            created=parse_timestamp(item.get('CreatedAt')),
            last_used=parse_timestamp(item.get('LastUsedAt')),
            usage_count=int(item.get('UsageCount') or 0),
            parents=list(parents),
            created_precise=parse_precise_timestamp(item.get('CreatedAt')),
        ))
    return records


def _filesystem(root_dir: str, docker_host: str) -> Optional[Filesystem]:
    """statvfs of DockerRootDir; only meaningful when the engine runs on this host."""
    if not docker_host.startswith('unix://') or not os.path.isdir(root_dir):
        return None
    stat = os.statvfs(root_dir)
    return Filesystem(path=root_dir, size_bytes=stat.f_blocks * stat.f_frsize,
                      free_bytes=stat.f_bavail * stat.f_frsize,
                      used_bytes=(stat.f_blocks - stat.f_bfree) * stat.f_frsize)


def _built_by_buildkit(history: Sequence[Dict[str, Any]]) -> bool:
    return any((step.get('Comment') or '').startswith('buildkit') for step in history)


def _add_image_detail(engine: Engine, images: List[Image], containerd_store: bool) -> List[str]:
    """Layers with their sizes, the last tag time, whether BuildKit built it and, on the containerd store,
    the content size; returns the IDs of the images whose layer sizes were derived (history not read).

    One inspect per image. History (one more call per image) is read where the layer sizes cannot be
    derived from image sizes (see layer_sizes; not on the containerd store, whose sizes are not sums of
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
            by_id[image_id].layers = layer_sizes(diff_ids[image_id], history)
            by_id[image_id].buildkit = _built_by_buildkit(history)

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
        by_id[image_id].buildkit = _built_by_buildkit(history)


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


def read_snapshot(engine: Engine, sizes: bool = True, layers: bool = False,
                  events_since: Optional[int] = None, stop_times: bool = False) -> Snapshot:
    """Read the engine once.

    ``sizes`` lets the engine walk container layers and volumes for their sizes (costly on big
    hosts); engines older than API 1.42 always do that walk inside ``GET /system/df``.
    ``layers`` inspects every image for its layer sizes and last tag time (to predict freed bytes
    and order by last use).
    ``events_since`` also reads container create/start events from then until now.
    ``stop_times`` inspects stopped containers for when they stopped (their age for a prune).
    Objects removed by someone else while the snapshot is read are left out, never an error.
    """
    taken_at = int(time.time())
    walk = bool(sizes or not engine.supports(API_DF_TYPE_FILTER))
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
        images = _images(image_listing)
        derived = _add_image_detail(engine, images, image_store_name(info) == 'containerd') if layers else []
        df = pending_df.result()
    if walk:
        container_listing = df.get('Containers') or []
        volume_listing = df.get('Volumes') or []
    df_images = df.get('Images') or []
    _add_df_sizes(images, df_images)
    containers = _containers(container_listing)
    if stop_times:
        vanished = set(_add_stop_times(engine, containers))
        containers = [container for container in containers if container.id not in vanished]
    by_id = {image.id: image for image in images}
    for container in containers:
        if container.image_id in by_id:
            by_id[container.image_id].containers.append(container.id)
    build_cache = parse_build_cache(df.get('BuildCache') or [])
    if layers:
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
        volumes=_volumes(volume_listing, containers, engine.supports(API_VOLUME_ANONYMOUS_LABEL)),
        networks=_networks(network_listing, containers),
        build_cache=build_cache,
        layers_size=int(df.get('LayersSize') or 0),
        df_image_ids=[item['Id'] for item in df_images],
        sizes_computed=walk,
        events=_events(engine, events_since, taken_at) if events_since is not None else [],
        events_until=taken_at if events_since is not None else None,
    )
