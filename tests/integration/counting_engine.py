# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's own engine client on a host's socket, recording the paths of its GET calls and streamed reads (how
many per-image reads and image exports a snapshot made)."""

from __future__ import annotations

from typing import Any, Callable, List

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine


class CountingEngine(Engine):
    """An Engine that records each GET path, streamed ones included."""

    def __init__(self, docker_host: str) -> None:
        super().__init__({'docker_host': docker_host, 'api_version': 'auto', 'timeout': 60})
        self.paths: List[str] = []

    def get(self, path: str, params: Any = None) -> Any:
        self.paths.append(path)
        return super().get(path, params)

    def read_stream(self, path: str, params: Any, consume: Callable[[Any], Any]) -> Any:
        self.paths.append(path)
        return super().read_stream(path, params, consume)

    def count(self, matches: Callable[[str], bool]) -> int:
        """How many recorded paths ``matches``."""
        return sum(1 for path in self.paths if matches(path))
