# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""(snapshot, policy, last-used times) -> plan. Pure: no I/O, deterministic.

The order follows `docker system prune`: containers first, so images, volumes and networks
that only removed containers used become removable in the same plan; then images, volumes,
networks, build cache. Nothing that a remaining container uses is ever planned.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Set

from ansible_collections.cachewarden.docker.plugins.module_utils.cache_plan import credit_released_layers, plan_build_cache
from ansible_collections.cachewarden.docker.plugins.module_utils.image_plan import plan_images
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import TYPE_ORDER, Plan, PlanItem, add_skipped, older
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Container, Snapshot

STOPPED_STATES = ('created', 'exited', 'dead')


def _label_or_age_reason(policy: Policy, now: int, labels: Dict[str, str], created: int) -> Optional[str]:
    """Why a container, volume or network stays despite its target: a keep label, or its age."""
    if policy.keeps_labels(labels):
        return 'keep_labels'
    if not older(policy, now, created):
        return 'newer than older_than'
    return None


def _plan_containers(snapshot: Snapshot, policy: Policy, plan: Plan) -> Set[str]:
    removed: Set[str] = set()
    if not policy.containers:
        return removed
    for container in sorted(snapshot.containers, key=lambda c: c.id):
        if container.state not in STOPPED_STATES:
            continue
        reason = _label_or_age_reason(policy, snapshot.taken_at, container.labels, container_age_from(container))
        if reason:
            add_skipped(plan, 'container', container.id, container.names, reason)
        else:
            removed.add(container.id)
            plan.items.append(PlanItem('container', container.id, container.names, container.disk_bytes,
                                       'stopped container (%s)' % container.state))
    return removed


def container_age_from(container: Container) -> int:
    """A stopped container's age counts from when it stopped (as kubelet's GC does for dead containers), so
    a service stopped yesterday after running for a month is one day old; one that never ran, from creation."""
    return container.finished if container.finished > 0 else container.created


def _used_by_remaining(snapshot: Snapshot, removed_containers: Set[str], attribute: str) -> Set[str]:
    used: Set[str] = set()
    for container in snapshot.containers:
        if container.id not in removed_containers:
            used.update(getattr(container, attribute))
    return used


def _plan_volumes(snapshot: Snapshot, policy: Policy, removed_containers: Set[str], plan: Plan) -> None:
    if policy.volumes == 'none':
        return
    used = _used_by_remaining(snapshot, removed_containers, 'volumes')
    for volume in sorted(snapshot.volumes, key=lambda v: v.name):
        if volume.name in used or (policy.volumes == 'anonymous' and not volume.anonymous):
            continue
        reason = _label_or_age_reason(policy, snapshot.taken_at, volume.labels, volume.created)
        if reason:
            add_skipped(plan, 'volume', volume.name, [volume.name], reason)
        else:
            plan.items.append(PlanItem('volume', volume.name, [volume.name], max(volume.size, 0),
                                       'unused %s volume' % ('anonymous' if volume.anonymous else 'named')))


def _plan_networks(snapshot: Snapshot, policy: Policy, removed_containers: Set[str], plan: Plan) -> None:
    if not policy.networks:
        return
    used = _used_by_remaining(snapshot, removed_containers, 'networks')
    for network in sorted(snapshot.networks, key=lambda n: n.id):
        if network.builtin or network.name in used:
            continue
        reason = _label_or_age_reason(policy, snapshot.taken_at, network.labels, network.created)
        if reason:
            add_skipped(plan, 'network', network.id, [network.name], reason)
        else:
            plan.items.append(PlanItem('network', network.id, [network.name], 0, 'unused network'))


def bytes_over_budget(snapshot: Snapshot, policy: Policy, plan: Plan) -> Optional[int]:
    """How much the budget and watermarks ask to free; None when no budget is set."""
    if not policy.budgeted:
        return None
    cache = snapshot.layers_size + sum(r.size for r in snapshot.build_cache if not r.shared)
    need = 0
    budget: Dict[str, Any] = {'cache_bytes': cache}
    if policy.max_cache_size is not None:
        budget['max_cache_size'] = policy.max_cache_size
        need = max(need, cache - policy.max_cache_size)
    if policy.high_watermark_percent is not None:
        fs = snapshot.filesystem
        if fs is None:
            plan.warnings.append('high_watermark_percent needs the filesystem of the Docker root directory, which '
                                 'is not visible for a remote engine; watermarks were not applied')
        else:
            usable = fs.used_bytes + fs.free_bytes
            used_percent = 100.0 * fs.used_bytes / usable if usable else 0.0  # unrounded, unlike the facts
            budget.update(used_percent=round(used_percent, 4), high_watermark_percent=policy.high_watermark_percent,
                          low_watermark_percent=policy.low_watermark_percent)
            if used_percent > policy.high_watermark_percent:
                target = (policy.low_watermark_percent or 0) / 100.0 * (fs.used_bytes + fs.free_bytes)
                need = max(need, int(fs.used_bytes - target) + 1)
    budget['bytes_to_free'] = need
    plan.budget = budget
    return need


def make_plan(snapshot: Snapshot, policy: Policy, last_used: Optional[Dict[str, int]] = None) -> Plan:
    """The whole plan for one host."""
    last_used = last_used or {}
    plan = Plan()
    need = bytes_over_budget(snapshot, policy, plan)
    removed_containers = _plan_containers(snapshot, policy, plan)
    freed_by_images = plan_images(snapshot, policy, removed_containers, last_used, plan, need)
    _plan_volumes(snapshot, policy, removed_containers, plan)
    _plan_networks(snapshot, policy, removed_containers, plan)
    cache_need = None if need is None else max(need - freed_by_images, 0)
    released = plan_build_cache(snapshot, policy, plan, cache_need)
    if released:
        credit_released_layers(snapshot, plan, released)
    plan.items.sort(key=lambda item: TYPE_ORDER.index(item.type))  # stable: keeps each type's own order
    plan.skipped.sort(key=lambda entry: (TYPE_ORDER.index(entry['type']), entry['id'], entry['reason']))
    return plan
