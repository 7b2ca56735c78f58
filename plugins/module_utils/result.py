# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan + outcome + before/after snapshots -> the docker_cache_prune result."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Set

from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Outcome, remaining_after
from ansible_collections.cachewarden.docker.plugins.module_utils.facts import cache_facts
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import TYPE_ORDER, Plan
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Snapshot
from ansible_collections.cachewarden.docker.plugins.module_utils.units import human_size

SKIPPED_LIMIT = 200


def usage_bytes(snapshot: Snapshot, before: Optional[Snapshot] = None, cache_blobs: int = 0) -> Dict[str, int]:
    """Bytes per type as the engine counts them (sizes it did not compute count as 0).

    The engine counts a build cache record under build cache only while no image holds its layer
    (``Shared``). After a prune, a record that an image held ``before`` is still counted where it was
    then: on graphdriver stores among image layers (record and layer are one on disk), so removing an
    image shows its whole layer as freed image bytes once the record went too, and nothing while the
    record stays. On the containerd store the engine counts BuildKit's own snapshots among image layers
    as well as under build cache; the image row here leaves out the build cache records it counts
    twice (docs/prune.md), and the containers' writable snapshots, which it counts there as well as in SizeRw
    (the container row counts them once, see Container.disk_bytes). A record no image held keeps the compressed
    blob of a layer an image once exported, counted in its size but not in LayersSize: ``cache_blobs``, the blobs
    of the records pruned since ``before`` (Outcome.cache_blob_bytes), are left out of the image row after, which
    counts them as the row before did.
    """
    held = {record.id for record in before.build_cache if record.shared} if before is not None else set()
    own_cache = sum(r.size for r in snapshot.build_cache if not r.shared and r.id not in held)
    if snapshot.engine.image_store == 'containerd':
        image = snapshot.layers_size - own_cache - cache_blobs - sum(c.snapshot_bytes for c in snapshot.containers
                                                                     if c.snapshot_bytes >= 0)
    else:
        image = snapshot.layers_size + _layers_left_with_records(snapshot, before, held)
    return {
        'container': sum(c.disk_bytes for c in snapshot.containers),
        'image': image,
        'volume': sum(v.size for v in snapshot.volumes if v.size > 0),
        'network': 0,
        'build_cache': own_cache,
    }


def _layers_left_with_records(after: Snapshot, before: Optional[Snapshot], held: Set[str]) -> int:
    """Bytes of the layers that left the images but stay on disk because build cache records still hold them.

    Several records may carry one layer (a rebuild that made the same layer again): each distinct layer counts
    once, as on disk. Layers are told apart by the chains the images lost; with no layer detail, by record.
    """
    released = [record.size for record in after.build_cache if record.id in held and not record.shared]
    if not released or before is None:
        return 0
    if any(image.layers is None for image in before.images + after.images):
        return sum(released)
    kept = {layer.chain_id for image in after.images for layer in image.layers or []}
    lost = Counter(size for chain, size in {layer.chain_id: layer.size for image in before.images
                                            for layer in image.layers or []}.items() if chain not in kept)
    return sum(size * min(count, lost[size]) for size, count in Counter(released).items())


_RULES = (('newer than older_than', 'older_than'), ('within build_cache_reserve', 'build_cache_reserve'),
          ('keep_latest', 'keep_latest'), ('base image of', 'protect_base_images'), ('in use by', 'in use by containers'),
          ('parent of image in use', 'in use by containers'), ('budget met', 'budget met'))


def kept_by_rule(plan: Plan, before: Snapshot) -> Dict[str, Dict[str, int]]:
    """What the policy's own rules keep, per rule: objects and their bytes (an image's own bytes, a record's
    size unless an image holds it). For reports: which rule holds the bytes a budget still asks for."""
    sizes: Dict[Any, int] = {('image', i.id): max(i.unique_size, 0) for i in before.images}
    sizes.update((('container', c.id), c.disk_bytes) for c in before.containers)
    sizes.update((('volume', v.name), max(v.size, 0)) for v in before.volumes)
    sizes.update((('build_cache', r.id), 0 if r.shared else r.size) for r in before.build_cache)
    kept: Dict[str, Dict[str, int]] = {}
    for entry in plan.skipped:
        reason = entry['reason']
        rule = next((name for prefix, name in _RULES if reason.startswith(prefix)), reason)
        row = kept.setdefault(rule, {'count': 0, 'bytes': 0})
        row['count'] += 1
        row['bytes'] += sizes.get((entry['type'], entry['id']), 0)
    return kept


def run_summary(plan: Plan, outcome: Optional[Outcome], reclaimed: int) -> str:
    """One line for people, sizes in the units `docker system df` prints."""
    if outcome is None:
        line = 'would remove %d items, %s would be freed' % (len(plan.items), human_size(plan.predicted_bytes, sep=' '))
        if plan.may_release:
            line += '; %d more build cache %s (%s) may go with the images (see may_release)' % (
                len(plan.may_release), 'record' if len(plan.may_release) == 1 else 'records',
                human_size(sum(item.bytes for item in plan.may_release), sep=' '))
        return line
    return 'removed %d items, %s freed (%s predicted)' % (
        len(outcome.removed), human_size(reclaimed, sep=' '), human_size(plan.predicted_bytes, sep=' '))


def _usage_text(counts: Dict[str, int], sizes: Dict[str, int]) -> str:
    return ''.join('%s: %d objects, %d bytes\n' % (kind, counts[kind], sizes[kind]) for kind in TYPE_ORDER)


def _counts(snapshot: Snapshot) -> Dict[str, int]:
    return {'container': len(snapshot.containers), 'image': len(snapshot.images), 'volume': len(snapshot.volumes),
            'network': len(snapshot.networks), 'build_cache': len(snapshot.build_cache)}


def prune_result(plan: Plan, outcome: Optional[Outcome], before: Snapshot, after: Optional[Snapshot],
                 policy: Dict[str, Any], set_facts: bool = False, refused: bool = False) -> Dict[str, Any]:
    """The module result; ``outcome`` None means nothing was carried out (check mode, or ``refused``: a plan
    over max_deletions, which changes nothing and so reports changed=false).

    The docker_cache facts of ``before`` always come with the result; ``set_facts`` also sets
    ``ansible_facts.docker_cache``: those of ``after``, or of ``before`` when nothing ran (check mode).
    """
    facts_before = cache_facts(before)
    removed = outcome.removed if outcome is not None else []
    skipped: List[Dict[str, Any]] = list(plan.skipped) + (outcome.skipped if outcome is not None else [])
    planned = plan.summary()
    sizes_before = usage_bytes(before)
    counts_before = _counts(before)
    if after is not None:
        sizes_after, counts_after = usage_bytes(after, before, outcome.cache_blob_bytes if outcome else 0), _counts(after)
    else:
        # A prediction, per type: never below zero (on the containerd store the engine counts a layer BuildKit
        # also holds in one row while the plan may credit it to the other, see docs/prune.md).
        sizes_after = {kind: max(0, sizes_before[kind] - planned[kind]['bytes']) for kind in TYPE_ORDER}
        counts_after = {kind: counts_before[kind] - planned[kind]['count'] for kind in TYPE_ORDER}
    reclaimed = {kind: (sizes_before[kind] - sizes_after[kind]) if after is not None else 0 for kind in TYPE_ORDER}
    summary = {}
    for kind in TYPE_ORDER:
        summary[kind] = {
            'planned': planned[kind]['count'],
            'removed': sum(1 for item in removed if item.type == kind),
            'skipped': sum(1 for entry in skipped if entry['type'] == kind),
            'predicted_bytes': planned[kind]['bytes'],
            'reclaimed_bytes': reclaimed[kind],
        }
    result: Dict[str, Any] = {
        'msg': run_summary(plan, outcome, sum(reclaimed.values())),
        'changed': bool(removed) if outcome is not None else bool(plan.items) and not refused,
        'plan': [item.as_dict() for item in plan.items],
        'may_release': [item.as_dict() for item in plan.may_release],
        'removed': [item.as_dict() for item in removed],
        'skipped_items': skipped[:SKIPPED_LIMIT],
        'skipped_total': len(skipped),
        'predicted_bytes': plan.predicted_bytes,
        'reclaimed_bytes': sum(reclaimed.values()),
        'summary': summary,
        'errors': list(outcome.errors) if outcome is not None else [],
        'policy': policy,
        'diff': {'before': _usage_text(counts_before, sizes_before), 'after': _usage_text(counts_after, sizes_after)},
        'docker_cache_before': facts_before,
        'kept_by_rule': kept_by_rule(plan, before),
        'cache_blob_bytes': outcome.cache_blob_bytes if outcome is not None else 0,
        'released_image_bytes': outcome.released_image_bytes if outcome is not None else 0,
    }
    if outcome is not None:
        result['not_done'] = [item.as_dict() for item in remaining_after(outcome, plan) or []]
    if plan.budget:
        result['budget'] = plan.budget
    if set_facts:
        result['ansible_facts'] = {'docker_cache': cache_facts(after) if after is not None else facts_before}
    return result
