# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot -> the ``docker_cache`` facts: the `docker system df` table, counts, base images."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Optional

from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BASE_IMAGE_LABEL, Image, Snapshot, image_name, normalize_reference)

DETAIL_SECTIONS = ('images', 'containers', 'volumes', 'networks', 'build_cache')


def iso_time(seconds: int) -> Optional[str]:
    """UTC ISO 8601 for unix seconds; None for 0 (unknown)."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds)) if seconds else None


def _usage_row(total: int, active: int, size: int, reclaimable: int) -> Dict[str, int]:
    return {'total': total, 'active': active, 'size_bytes': size, 'reclaimable_bytes': reclaimable}


def disk_usage(snapshot: Snapshot) -> Dict[str, Dict[str, int]]:
    """The TOTAL / ACTIVE / SIZE / RECLAIMABLE table, computed exactly as `docker system df` does.

    The CLI counts only the images `GET /system/df` returns, and treats just the unique bytes of
    images used by containers as not reclaimable; layers shared with a used image count as
    reclaimable. The same rules apply here so the numbers match the CLI.
    """
    by_id = snapshot.image_by_id()
    df_images = [by_id[image_id] for image_id in snapshot.df_image_ids if image_id in by_id]
    active_images = [image for image in df_images if image.containers]
    used = sum(image.size - image.shared_size for image in active_images
               if image.size >= 0 and image.shared_size >= 0)
    active_containers = [c for c in snapshot.containers if c.active]
    container_size = sum(c.size_rw for c in snapshot.containers if c.size_rw > 0)
    idle_container_size = sum(c.size_rw for c in snapshot.containers if c.size_rw > 0 and not c.active)
    volume_size = sum(v.size for v in snapshot.volumes if v.size > 0)
    idle_volume_size = sum(v.size for v in snapshot.volumes if v.size > 0 and v.ref_count == 0)
    own_cache = [r for r in snapshot.build_cache if not r.shared]
    return {
        'images': _usage_row(len(df_images), len(active_images), snapshot.layers_size,
                             snapshot.layers_size - used),
        'containers': _usage_row(len(snapshot.containers), len(active_containers),
                                 container_size, idle_container_size),
        'volumes': _usage_row(len(snapshot.volumes), sum(1 for v in snapshot.volumes if v.ref_count > 0),
                              volume_size, idle_volume_size),
        'build_cache': _usage_row(len(snapshot.build_cache), sum(1 for r in snapshot.build_cache if r.in_use),
                                  sum(r.size for r in own_cache),
                                  sum(r.size for r in own_cache if not r.in_use)),
    }


def image_counts(snapshot: Snapshot) -> Dict[str, int]:
    """Counts as the CLI's listings give them, plus shared vs unique bytes."""
    images = snapshot.images
    listed = set(snapshot.df_image_ids)
    unique = sum(image.unique_size for image in images if image.shared_size >= 0 and image.id in listed)
    return {
        'total': len(images),
        'tagged': sum(1 for image in images if image.tags),
        'dangling': sum(1 for image in images if image.dangling),
        'intermediate': sum(1 for image in images if image.intermediate),
        'in_use': sum(1 for image in images if image.containers),
        'unused': sum(1 for image in images if not image.containers and not image.intermediate),
        'size_bytes': snapshot.layers_size,
        'unique_bytes': unique,
        'shared_bytes': max(snapshot.layers_size - unique, 0),
    }


def base_images(snapshot: Snapshot) -> List[Dict[str, Any]]:
    """Images named by a ``base_image`` label, whether each is present, and who names it."""
    present: Dict[str, Image] = {}
    for image in snapshot.images:
        for tag in image.tags:
            present[normalize_reference(tag)] = image
        for digest in image.digests:
            present[normalize_reference(digest)] = image
    named: Dict[str, List[str]] = {}
    for image in snapshot.images:
        label = image.labels.get(BASE_IMAGE_LABEL)
        # Labels are inherited: skip intermediates and the base image itself.
        if label and not image.intermediate and present.get(normalize_reference(label)) is not image:
            named.setdefault(normalize_reference(label), []).append(image_name(image))
    result = []
    for reference in sorted(named):
        base = present.get(reference)
        result.append({
            'reference': reference,
            'present': base is not None,
            'image_id': base.id if base is not None else None,
            'used_by': sorted(named[reference]),
        })
    return result


def _build_cache_summary(snapshot: Snapshot) -> Dict[str, Any]:
    by_type: Dict[str, Dict[str, int]] = {}
    for record in snapshot.build_cache:
        row = by_type.setdefault(record.type or 'unknown', {'count': 0, 'size_bytes': 0})
        row['count'] += 1
        row['size_bytes'] += record.size
    last_used = max((r.last_used for r in snapshot.build_cache), default=0)
    return {
        'total': len(snapshot.build_cache),
        'in_use': sum(1 for r in snapshot.build_cache if r.in_use),
        'shared': sum(1 for r in snapshot.build_cache if r.shared),
        'size_bytes': sum(r.size for r in snapshot.build_cache if not r.shared),
        'by_type': by_type,
        'last_used': iso_time(last_used),
    }


def _detail(snapshot: Snapshot, sections: Iterable[str], limit: int) -> Dict[str, Any]:
    """Per-object lists, largest first, at most ``limit`` per section."""
    rows: Dict[str, List[Dict[str, Any]]] = {
        'images': [{'id': i.id, 'tags': i.tags, 'size_bytes': i.size, 'shared_bytes': i.shared_size,
                    'created': iso_time(i.created), 'containers': len(i.containers),
                    'dangling': i.dangling, 'intermediate': i.intermediate}
                   for i in sorted(snapshot.images, key=lambda i: (-i.size, i.id))],
        'containers': [{'id': c.id, 'names': c.names, 'image': c.image, 'state': c.state,
                        'size_rw_bytes': c.size_rw, 'created': iso_time(c.created)}
                       for c in sorted(snapshot.containers, key=lambda c: (-c.size_rw, c.id))],
        'volumes': [{'name': v.name, 'anonymous': v.anonymous, 'size_bytes': v.size, 'in_use': v.ref_count > 0}
                    for v in sorted(snapshot.volumes, key=lambda v: (-v.size, v.name))],
        'networks': [{'id': n.id, 'name': n.name, 'driver': n.driver, 'containers': n.containers}
                     for n in sorted(snapshot.networks, key=lambda n: n.name)],
        'build_cache': [{'id': r.id, 'type': r.type, 'size_bytes': r.size, 'in_use': r.in_use,
                         'shared': r.shared, 'last_used': iso_time(r.last_used), 'description': r.description}
                        for r in sorted(snapshot.build_cache, key=lambda r: (-r.size, r.id))],
    }
    detail: Dict[str, Any] = {'limit': limit, 'truncated': {}}
    for section in sections:
        detail[section] = rows[section][:limit]
        detail['truncated'][section] = max(len(rows[section]) - limit, 0)
    return detail


def cache_facts(snapshot: Snapshot, detail: Iterable[str] = (), detail_limit: int = 100) -> Dict[str, Any]:
    """The ``ansible_facts.docker_cache`` dictionary: a summary of a few KB, detail on request."""
    usage = disk_usage(snapshot)
    fs = snapshot.filesystem
    facts: Dict[str, Any] = {
        'collected_at': iso_time(snapshot.taken_at),
        'sizes_computed': snapshot.sizes_computed,
        'engine': {
            'version': snapshot.engine.version,
            'api_version': snapshot.engine.api_version,
            'image_store': snapshot.engine.image_store,
            'storage_driver': snapshot.engine.storage_driver,
            'root_dir': snapshot.engine.root_dir,
            'os': snapshot.engine.os,
            'arch': snapshot.engine.arch,
        },
        'filesystem': None if fs is None else {
            'path': fs.path,
            'size_bytes': fs.size_bytes,
            'free_bytes': fs.free_bytes,
            'used_bytes': fs.used_bytes,
            'used_percent': fs.used_percent,
        },
        'disk_usage': usage,
        'cache_bytes': usage['images']['size_bytes'] + usage['build_cache']['size_bytes'],
        'reclaimable_bytes': sum(row['reclaimable_bytes'] for row in usage.values()),
        'images': image_counts(snapshot),
        'containers': {
            'total': len(snapshot.containers),
            'running': sum(1 for c in snapshot.containers if c.state == 'running'),
            'stopped': sum(1 for c in snapshot.containers if c.state != 'running'),
            'size_bytes': usage['containers']['size_bytes'],
        },
        'volumes': {
            'total': len(snapshot.volumes),
            'named': sum(1 for v in snapshot.volumes if not v.anonymous),
            'anonymous': sum(1 for v in snapshot.volumes if v.anonymous),
            'in_use': sum(1 for v in snapshot.volumes if v.ref_count > 0),
            'unused': sum(1 for v in snapshot.volumes if v.ref_count == 0),
            'size_bytes': usage['volumes']['size_bytes'],
        },
        'networks': {
            'total': len(snapshot.networks),
            'builtin': sum(1 for n in snapshot.networks if n.builtin),
            'unused': sum(1 for n in snapshot.networks if not n.builtin and n.containers == 0),
        },
        'build_cache': _build_cache_summary(snapshot),
        'base_images': base_images(snapshot),
    }
    sections = list(detail)
    if sections:
        facts['detail'] = _detail(snapshot, sections, detail_limit)
    return facts
