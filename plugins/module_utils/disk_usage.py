# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`GET /system/df` of every engine API version in one shape: the top-level lists of API 1.51 and before.

API 1.52 (Docker 29) adds per-type usage objects (``ImageUsage``, ``ContainerUsage``, ``VolumeUsage``,
``BuildCacheUsage``): counts and totals, and with ``verbose=1`` the objects themselves in ``Items``, which
then leaves the old top-level fields (``LayersSize``, ``Images``, ``Containers``, ``Volumes``,
``BuildCache``) empty. From API 1.53 the old fields are gone. The items are the same records as the old
lists (image and container summaries, volumes, build cache records), so the rest of the collection keeps
reading the old shape.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import api_at_least

API_DF_USAGE_OBJECTS = '1.52'
# Old top-level list -> the usage object that holds the same records in its Items.
_USAGE_OBJECTS = (
    ('Images', 'ImageUsage'),
    ('Containers', 'ContainerUsage'),
    ('Volumes', 'VolumeUsage'),
    ('BuildCache', 'BuildCacheUsage'),
)


def disk_usage_query(params: Optional[Dict[str, Any]], api_version: str) -> Optional[Dict[str, Any]]:
    """The query string of `GET /system/df`: from API 1.52 on, ``verbose=1`` so that the usage objects carry
    their items (the only place the objects are listed from API 1.53)."""
    if not api_at_least(api_version, API_DF_USAGE_OBJECTS):
        return params
    return dict(params or {}, verbose=1)


def legacy_disk_usage(answer: Dict[str, Any]) -> Dict[str, Any]:
    """``answer`` with the old top-level fields, filled from the usage objects where the engine left them
    out or empty; an answer of the old shape comes back unchanged."""
    result = dict(answer)
    for legacy, usage in _USAGE_OBJECTS:
        items = (answer.get(usage) or {}).get('Items')
        if not result.get(legacy) and items:
            result[legacy] = items
    image_usage = answer.get('ImageUsage') or {}
    if not result.get('LayersSize') and image_usage.get('TotalSize'):
        # The disk space images take, what LayersSize reported.
        result['LayersSize'] = image_usage['TotalSize']
    return result
