# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build cache records to remove: age, sharing with images, the records BuildKit frees only together, a reserve
and a budget; and the bytes of image layers that records removed with their images set free. Pure: no I/O."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.cache_links import CacheRelease, cache_release, record_chains
from ansible_collections.cachewarden.docker.plugins.module_utils.image_bytes import (
    credit_bytes, layer_owners, release_cache_held_layers)
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem, add_skipped, older
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import BuildCacheRecord, Snapshot

# BuildKit's own prune without "all" leaves these record types alone.
PROTECTED_CACHE_TYPES = frozenset(('internal', 'frontend'))
# Why a record is in plan.may_release.
MAY_GO = 'may be set free by the images this plan removes (the engine does not say which image holds it)'


def _cache_last_used(record: BuildCacheRecord) -> int:
    return record.last_used or record.created


def cache_old_enough(record: BuildCacheRecord, policy: Policy, now: int) -> bool:
    """Whether a record is past the policy's age limit (by creation or last use, per age_basis)."""
    return older(policy, now, record.created if policy.age_basis == 'created' else _cache_last_used(record))


def takes_released(record: BuildCacheRecord, policy: Policy, now: int) -> bool:
    """Whether the policy takes a record that removed images set free: the build-cache rules select it, and no
    reserve chose what to keep (a reserve takes nothing more)."""
    return (policy.build_cache != 'none' and policy.build_cache_reserve is None and not record.in_use
            and not (policy.build_cache == 'unused' and record.type in PROTECTED_CACHE_TYPES)
            and cache_old_enough(record, policy, now))


def plan_build_cache(snapshot: Snapshot, policy: Policy, plan: Plan, need: Optional[int]) -> Dict[str, Tuple[str, int]]:
    """Plan build cache removals; return the planned records that were shared with removed images (as
    CacheRelease.released gives them), and list in plan.may_release those the removal may set free."""
    if policy.build_cache == 'none':
        return {}
    deleted = {item.id for item in plan.items if item.type == 'image' and item.action == 'remove'}
    # A reserve keeps what it keeps (nothing is released nor may go); otherwise records the removed images set free
    # go with them (under a budget too: the layers they hold are only freed with them).
    release = CacheRelease() if policy.build_cache_reserve is not None else cache_release(snapshot, deleted)
    released = set(release.released)
    records = {record.id: record for record in snapshot.build_cache}
    children: Dict[str, Set[str]] = {}
    for record in records.values():
        for parent in record.parents:
            children.setdefault(parent, set()).add(record.id)
    eligible: List[BuildCacheRecord] = []
    for record in sorted(records.values(), key=lambda r: (_cache_last_used(r), r.id)):
        if record.in_use:
            continue
        if policy.build_cache == 'unused' and record.type in PROTECTED_CACHE_TYPES:
            continue
        if record.shared and record.id not in released:
            add_skipped(plan, 'build_cache', record.id, [record.description], 'shared with a kept image')
            continue
        if not cache_old_enough(record, policy, snapshot.taken_at):
            add_skipped(plan, 'build_cache', record.id, [record.description], 'newer than older_than')
            continue
        eligible.append(record)
    # BuildKit only frees a record once every record built on it goes too: drop, before counting
    # bytes, what a record that must stay builds on.
    changed = True
    while changed:
        changed = False
        ids = {record.id for record in eligible}
        for record in list(eligible):
            if not children.get(record.id, set()) <= ids:
                eligible.remove(record)
                add_skipped(plan, 'build_cache', record.id, [record.description], 'a kept cache record builds on it')
                changed = True
    limit = _cache_bytes_to_free(snapshot, policy, need)
    chosen: Set[str] = set()
    freed = 0
    pending = list(eligible)  # least recently used first
    while pending and (limit is None or freed < limit):
        record = next((r for r in pending if children.get(r.id, set()) <= chosen), None)
        if record is None:  # the rest build on each other in a cycle (bad data, as _cache_depth guards): none goes
            for stuck in pending:
                add_skipped(plan, 'build_cache', stuck.id, [stuck.description], 'a kept cache record builds on it')
            pending = []
            break
        pending.remove(record)
        chosen.add(record.id)
        freed += 0 if record.shared else record.size
    for record in list(pending):
        if record.id in released:  # freed with the images that held it, whatever the budget
            pending.remove(record)
            chosen.add(record.id)
    for record in pending:
        add_skipped(plan, 'build_cache', record.id, [record.description],
                    'budget met' if need is not None else 'within build_cache_reserve')
    # BuildKit only frees a record once every record built on it goes too.
    changed = True
    while changed:
        changed = False
        for record_id in sorted(chosen):
            if not children.get(record_id, set()) <= chosen:
                chosen.discard(record_id)
                add_skipped(plan, 'build_cache', record_id, [records[record_id].description],
                            'a kept cache record builds on it')
                changed = True
    # Records built on others go first: BuildKit keeps a record while another builds on it.
    memo: Dict[str, int] = {}
    depth = {record_id: _cache_depth(record_id, records, memo) for record_id in chosen}
    for record in sorted(eligible, key=lambda r: (-depth.get(r.id, 0), _cache_last_used(r), r.id)):
        if record.id in chosen:
            # A record shared with a removed image frees nothing of its own: its layer's bytes are the image's.
            reason = '%s build cache (%s)' % ('unused' if policy.build_cache == 'unused' else 'any', record.type or 'unknown')
            if record.shared:
                reason += ', set free by the images this plan removes'
            plan.items.append(PlanItem('build_cache', record.id, [record.description],
                                       0 if record.shared else record.size, reason))
    plan.may_release = [PlanItem('build_cache', record.id, [record.description], record.size, MAY_GO)
                        for record in sorted(records.values(), key=lambda r: (_cache_last_used(r), r.id))
                        if record.id in release.may_go and takes_released(record, policy, snapshot.taken_at)]
    return {record_id: release.released[record_id] for record_id in chosen if records[record_id].shared}


def credit_released_layers(snapshot: Snapshot, plan: Plan, released: Dict[str, Tuple[str, int]]) -> None:
    """Give removed images the bytes of their layers that planned records held: with the records gone too,
    the engine frees those layers (and counts them among image layers). Layers records that stay hold count
    nothing: they stay on disk with the build cache. On the containerd store the image's layers are its own,
    and each planned record's snapshot counts once more (containerd_released)."""
    pairs = record_chains(snapshot)
    staying = [record for record in snapshot.build_cache if record.shared and record.id not in released]
    held_chains = {pairs[record.id] for record in staying if record.id in pairs}
    held_sizes = {record.size for record in staying if record.id not in pairs and record.size > 0}
    containerd_store = snapshot.engine.image_store == 'containerd'
    images = [release_cache_held_layers(image, held_sizes, containerd_store, held_chains) for image in snapshot.images]
    items = [item for item in plan.items if item.type == 'image' and item.action == 'remove']
    credit = credit_bytes(layer_owners(images), {item.id for item in items})
    if containerd_store:
        # The record's own snapshot, which the engine counts among image layers too, goes with the record.
        for image_id, size in released.values():
            credit[image_id] += size
    for item in items:
        item.bytes = credit[item.id]


def _cache_depth(record_id: str, records: Dict[str, BuildCacheRecord], memo: Dict[str, int]) -> int:
    """Length of the longest parent chain below a record (a child is always deeper than its parents)."""
    if record_id not in memo:
        memo[record_id] = 0  # guards against a cycle in bad data
        parents = [parent for parent in records[record_id].parents if parent in records]
        memo[record_id] = max((_cache_depth(parent, records, memo) + 1 for parent in parents), default=0)
    return memo[record_id]


def _cache_bytes_to_free(snapshot: Snapshot, policy: Policy, need: Optional[int]) -> Optional[int]:
    """None: no limit. Otherwise the bytes the build cache should give up (reserve and budget)."""
    limits = []
    if policy.build_cache_reserve is not None:
        own = sum(r.size for r in snapshot.build_cache if not r.shared)
        limits.append(max(own - policy.build_cache_reserve, 0))
    if need is not None:
        limits.append(max(need, 0))
    return max(limits) if limits else None
