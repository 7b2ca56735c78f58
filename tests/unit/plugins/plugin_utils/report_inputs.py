# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inputs of the fleet report as the playbook hands them over: docker_cache facts and enforce entries."""

from __future__ import annotations

from typing import Any, Dict, Optional

GB = 1000 ** 3
MB = 1000 ** 2


def facts(images: int = 0, images_reclaimable: int = 0, containers: int = 0, volumes: int = 0,
          build_cache: int = 0, build_cache_reclaimable: int = 0, used_percent: Optional[float] = 40.0,
          version: str = '28.5.1', store: str = 'containerd') -> Dict[str, Any]:
    """The parts of ansible_facts.docker_cache the report reads."""
    def row(size: int, reclaimable: int) -> Dict[str, int]:
        return {'total': 3, 'active': 1, 'size_bytes': size, 'reclaimable_bytes': reclaimable}

    return {
        'collected_at': '2026-11-29T03:00:00Z',
        'engine': {'version': version, 'api_version': '1.51', 'image_store': store},
        'filesystem': None if used_percent is None else {
            'path': '/var/lib/docker', 'size_bytes': 100 * GB, 'free_bytes': int(100 * GB * (1 - used_percent / 100)),
            'used_percent': used_percent},
        'disk_usage': {
            'images': row(images, images_reclaimable),
            'containers': row(containers, containers),
            'volumes': row(volumes, 0),
            'build_cache': row(build_cache, build_cache_reclaimable),
        },
        'cache_bytes': images + build_cache,
    }


def usage(images: int, build_cache: int) -> Dict[str, Dict[str, int]]:
    """A disk_usage table as the role records it before and after a run."""
    return {kind: {'size_bytes': size, 'reclaimable_bytes': 0}
            for kind, size in (('images', images), ('containers', 0), ('volumes', 0), ('build_cache', build_cache))}


def run(reclaimed: int = 0, removed: int = 0, check_mode: bool = False, before: Optional[Dict] = None,
        after: Optional[Dict] = None, failed: bool = False) -> Dict[str, Any]:
    """One host's entry of the last enforce run, as the cache_policy role writes it."""
    entry = {'changed': removed > 0, 'check_mode': check_mode, 'reclaimed_bytes': reclaimed,
             'predicted_bytes': reclaimed, 'removed': removed, 'planned': removed,
             'errors': ['engine went away'] if failed else [], 'failed': failed}
    if before is not None:
        entry['usage_before'] = before
    if after is not None:
        entry['usage_after'] = after
    return entry
