# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a plan is made of: the items it removes, what it keeps on purpose and why. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy

TYPE_ORDER = ('container', 'image', 'volume', 'network', 'build_cache')


@dataclass
class PlanItem:
    """One object the plan removes; ``action`` is ``untag`` for an image other images still build on."""

    type: str
    id: str
    names: List[str]
    bytes: int
    reason: str
    action: str = 'remove'
    # Consecutive items of one type and wave may be removed at the same time. An image's wave is
    # minus its depth, so a child never shares a wave with its parent. Not part of results or equality.
    wave: int = field(default=0, compare=False)
    # Images of one family (the ID of the oldest ancestor in the image's parent chain) are deleted one at a time.
    family: str = field(default='', compare=False)

    def as_dict(self) -> Dict[str, Any]:
        """Plain data for results."""
        return {'type': self.type, 'id': self.id, 'names': list(self.names), 'bytes': self.bytes,
                'reason': self.reason, 'action': self.action}


@dataclass
class Plan:
    """What a run removes, what it keeps on purpose and why, and the bytes it predicts to free."""

    items: List[PlanItem] = field(default_factory=list)
    skipped: List[Dict[str, Any]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    budget: Dict[str, Any] = field(default_factory=dict)
    # Shared build cache records the plan's images may set free, not counted in its bytes: the run removes those
    # that went free with them (prune_run.released_cache).
    may_release: List[PlanItem] = field(default_factory=list)

    @property
    def predicted_bytes(self) -> int:
        """Bytes the engine should free when the plan is carried out."""
        return sum(item.bytes for item in self.items)

    def summary(self) -> Dict[str, Dict[str, int]]:
        """Per-type count and bytes."""
        result = {kind: {'count': 0, 'bytes': 0} for kind in TYPE_ORDER}
        for item in self.items:
            result[item.type]['count'] += 1
            result[item.type]['bytes'] += item.bytes
        return result


def add_skipped(plan: Plan, kind: str, ident: str, names: List[str], reason: str) -> None:
    """Record an object a target named that stays, and why."""
    plan.skipped.append({'type': kind, 'id': ident, 'names': list(names), 'reason': reason})


def older(policy: Policy, now: int, when: int) -> bool:
    """True when ``when`` is before the policy's age cut-off (or there is no cut-off)."""
    return policy.older_than is None or when < now - policy.older_than
