# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calling docker_cache_prune ad hoc from the integration tests."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Set, Tuple

from ansible_cli import run_module

MODULE = 'cachewarden.docker.docker_cache_prune'


def state_path() -> str:
    """A fresh last-used state file on the managed host, so runs do not share LRU history."""
    return '/tmp/cw-state-%s.json' % uuid.uuid4().hex


def ids(items: List[Dict[str, Any]]) -> Set[Tuple[str, str, str]]:
    """Plan or removed items as comparable (type, id, action) triples."""
    return {(item['type'], item['id'], item.get('action', 'remove')) for item in items}


def prune(inventory: str, args: Dict[str, Any], check: bool = False, pattern: str = 'h1:h2') -> Dict[str, Dict]:
    """Run the module on ``pattern`` and insist that no host failed."""
    results = run_module(inventory, pattern, MODULE, args, check=check)
    for name, result in results.items():
        assert not result.get('failed'), (name, result.get('msg'), result)
    return results
