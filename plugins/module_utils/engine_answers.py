# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's JSON answers -> records (pure: the engine is read in snapshot.py)."""

from __future__ import annotations

import calendar
import json
import re
import time
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BuildCacheRecord, Container, Image, Layer, Network, Volume)

NONE_TAG = '<none>:<none>'
NONE_DIGEST = '<none>@<none>'
_ANONYMOUS_VOLUME_LABEL = 'com.docker.volume.anonymous'
_HEX64 = re.compile(r'^[0-9a-f]{64}$')
# History entries that never carry a layer (legacy "#(nop)" and BuildKit metadata steps).
_METADATA_STEP = re.compile(r'^(/bin/sh -c #\(nop\)|(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|WORKDIR|USER|ARG|STOPSIGNAL|'
                            r'HEALTHCHECK|SHELL|ONBUILD|VOLUME|MAINTAINER)\b)')
# A WORKDIR step of either builder (it may have made a layer, see layers_from_history).
_WORKDIR_STEP = re.compile(r'^(/bin/sh -c #\(nop\) +)?WORKDIR ')


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


def layers_from_history(diff_ids: Sequence[str], history: Sequence[Dict[str, Any]]) -> Optional[List[Layer]]:
    """Pair each layer with its size from the image history (oldest first); None when they cannot be paired."""
    entries = list(reversed(history))  # the API lists newest first
    made = [entry for entry in entries if (entry.get('Size') or 0) > 0
            or not _METADATA_STEP.match((entry.get('CreatedBy') or '').strip())]
    # A WORKDIR makes a layer when it creates the directory (its history Size is 0: a directory alone), with
    # BuildKit and with the legacy builder of 20.10 (random seed 104: a pulled image whose one WORKDIR did); the
    # API's history leaves out the config's empty_layer flag that would say which did.
    workdirs = [entry for entry in entries if entry in made or _WORKDIR_STEP.match(entry.get('CreatedBy') or '')]
    sized = next((candidate for candidate in (made, workdirs, [entry for entry in entries if (entry.get('Size') or 0) > 0])
                  if len(candidate) == len(diff_ids)), None)
    if sized is None:
        return None
    return [Layer(chain_id=chain, size=int(entry.get('Size') or 0), step=entry.get('CreatedBy') or '')
            for chain, entry in zip(chain_ids(diff_ids), sized)]


def _tags(summary: Dict[str, Any]) -> List[str]:
    return sorted(tag for tag in summary.get('RepoTags') or [] if tag != NONE_TAG)


def _digests(summary: Dict[str, Any]) -> List[str]:
    return sorted(digest for digest in summary.get('RepoDigests') or [] if digest != NONE_DIGEST)


def parse_images(listing: List[Dict[str, Any]]) -> List[Image]:
    """`GET /images/json?all=1` as records; shared sizes come later from `GET /system/df` (see add_df_sizes)."""
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
            unpacked_size=_unpacked_size(summary.get('Manifests')),
            manifest_bytes=_manifest_bytes(summary),
        ))
    by_id = {image.id: image for image in images}
    for image in images:
        parent = by_id.get(image.parent)
        if parent is not None:
            parent.children.append(image.id)
    return images


def _unpacked_size(manifests: Any) -> int:
    """The unpacked bytes of the one image manifest present (the listing's ``manifests=1``, containerd store);
    -1 when there is none or more than one (which one a container runs is not said)."""
    present = [entry for entry in manifests or [] if isinstance(entry, dict) and entry.get('Kind') == 'image'
               and entry.get('Available')]
    if len(present) != 1:
        return -1
    unpacked = ((present[0].get('ImageData') or {}).get('Size') or {}).get('Unpacked')
    return int(unpacked) if isinstance(unpacked, int) and unpacked >= 0 else -1


def _manifest_bytes(summary: Dict[str, Any]) -> int:
    """The bytes of an image's manifests (and of its index, where the image is one): the descriptors the listing's
    ``manifests=1`` gives (API 1.47+, containerd store); -1 without them."""
    manifests = [entry.get('Descriptor') or {} for entry in summary.get('Manifests') or [] if isinstance(entry, dict)]
    if not manifests:
        return -1
    total = sum(int(descriptor.get('size') or 0) for descriptor in manifests)
    target = summary.get('Descriptor') or {}
    if target.get('digest') and target.get('digest') not in {descriptor.get('digest') for descriptor in manifests}:
        total += int(target.get('size') or 0)
    return total


def config_bytes(inspect: Dict[str, Any], history: Sequence[Dict[str, Any]]) -> int:
    """The size of an image's config blob, estimated: the config as the engine writes it (the OCI image config,
    empty fields left out), made again from the inspect answer and the history (the API gives no size for it).
    What the answers do not carry is guessed: the history's times are whole seconds there, written with nine
    digits of fraction where the image's own creation time has a fraction; entries that made no layer (one per
    history entry more than the layers) carry ``empty_layer``. Measured on 28.5 against exported configs (random
    seeds 101 and 110, the demo host): see docs/prune.md."""
    fraction = '.000000000' if '.' in str(inspect.get('Created') or '') else ''
    rootfs = inspect.get('RootFS') or {}
    layers = list(rootfs.get('Layers') or [])
    entries = [dict({'created': _rfc3339(entry.get('Created')).replace('Z', fraction + 'Z')},
                    **{key: entry[field] for key, field in (('created_by', 'CreatedBy'), ('comment', 'Comment'))
                       if entry.get(field)}) for entry in reversed(list(history))]
    for entry in entries[:max(len(entries) - len(layers), 0)]:  # which entries they are does not change the size
        entry['empty_layer'] = True
    config = {
        'architecture': inspect.get('Architecture'),
        'config': {key: value for key, value in (inspect.get('Config') or {}).items() if value not in (None, '', [], {}, False)},
        'created': inspect.get('Created'),
        'history': entries,
        'os': inspect.get('Os'),
        'rootfs': {'type': rootfs.get('Type') or 'layers', 'diff_ids': layers},
    }
    text = json.dumps({key: value for key, value in config.items() if value not in (None, '', [], {})},
                      separators=(',', ':'), ensure_ascii=False)
    # Go's encoder writes UTF-8 as it is and escapes &, < and > as \u0026, \u003c and \u003e (six bytes for one).
    return len(text.encode('utf-8')) + 5 * sum(text.count(char) for char in '&<>')


def _rfc3339(seconds: Any) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(seconds or 0)))


def add_writable_snapshots(containers: List[Container], images: List[Image]) -> None:
    """Containerd store: a container's writable snapshot is SizeRootFs minus its image's unpacked size. The engine
    counts those bytes twice, as SizeRw and among image layers (measured on 28.5: a container that wrote 1 MB
    grew SizeRw by 1,007,616 and LayersSize by 1,019,904, SizeRootFs minus unpacked by 1,019,904, the disk by
    1,057,933 with its config and log); docs/prune.md."""
    unpacked = {image.id: image.unpacked_size for image in images}
    for container in containers:
        image_bytes = unpacked.get(container.image_id, -1)
        if container.size_root_fs >= 0 and image_bytes >= 0:
            container.snapshot_bytes = max(container.size_root_fs - image_bytes, 0)


def add_df_sizes(images: List[Image], df_images: List[Dict[str, Any]]) -> None:
    """The sizes `GET /system/df` computed, where it lists the image (it leaves out intermediate ones)."""
    df_by_id = {item['Id']: item for item in df_images}
    for image in images:
        sized = df_by_id.get(image.id)
        if sized is not None:
            image.size = int(sized.get('Size') or 0)
            image.shared_size = int(sized['SharedSize']) if sized.get('SharedSize') is not None else -1


def parse_containers(listing: List[Dict[str, Any]]) -> List[Container]:
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
            size_root_fs=int(item['SizeRootFs']) if item.get('SizeRootFs') is not None else -1,
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


def parse_volumes(listing: List[Dict[str, Any]], containers: List[Container], labelled_engine: bool) -> List[Volume]:
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


def parse_networks(listing: List[Dict[str, Any]], containers: List[Container]) -> List[Network]:
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


def built_by_buildkit(history: Sequence[Dict[str, Any]]) -> bool:
    return any((step.get('Comment') or '').startswith('buildkit') for step in history)
