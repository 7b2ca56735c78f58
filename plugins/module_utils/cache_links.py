# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which shared build cache records the removal of some images sets free. Pure: no I/O.

BuildKit marks a record ``Shared`` while an image holds the layer it made, and the engine's prune never
takes a shared record. The engine decides this anew on every ``GET /system/df`` (docs/prune.md):

- graphdriver stores (overlay2): a record is shared while its layer chain is a prefix of the layers of
  any image. The chains that lose their last image when a set of images goes are exact (image inspect
  gives every layer's chain ID); which record carries which chain the API does not say. A record's size
  is the size of its layer exactly, so records are tied to chains by size, by the order they were made
  where several chains have one size, and along the record parents where the engine lists them
  (record_chains).
- the containerd store: a record is shared while its chain equals an image's whole layer list (and while a
  shared record builds on it), and the API shows no record parents. A record is named by the step that made
  it: its description (``[2/2] COPY b /b``, ``mount / from exec <command>``) and the image history
  (``COPY b /b # buildkit``) write the same step; its size is the layer's plus the layer's compressed blob.
  A removed image's records go from its top down to the first layer an image that stays also holds, each
  told by its step and size (containerd_released). A record the engine never exported (a build stage's steps)
  is held by the images whose whole layer list is the chain it was built on, which the API does not name.

Records the removal may set free but that nothing ties to a layer are listed apart (CacheRelease.may_go); the run
finds what went free by reading the build cache again after the images went (prune_run.released_cache).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.content_estimate import chains_below, layer_bytes
from ansible_collections.cachewarden.docker.plugins.module_utils.records import BuildCacheRecord, Snapshot

# A compressed blob is at most its layer's size plus gzip's framing (the layer's size is block-rounded already).
BLOB_SLACK = 64 * 1024
_STEP_NUMBER = re.compile(r'^\[[^\]]*\d+/\d+\]\s+')
_RUN_RECORD = 'mount / from exec '
_BUILDKIT_STEP = ' # buildkit'
_WORKDIR_STEP = 'WORKDIR '


def lost_chains(snapshot: Snapshot, deleted: Iterable[str]) -> Dict[str, int]:
    """chain ID -> layer size of the layers no image holds once ``deleted`` are gone; empty when an
    image's layers are unknown (the chains it holds cannot be told)."""
    deleted = set(deleted)
    kept = _kept_chains(snapshot, deleted)
    if kept is None:
        return {}
    return {layer.chain_id: layer.size for image in snapshot.images if image.id in deleted
            for layer in image.layers or [] if layer.chain_id not in kept}


def _kept_chains(snapshot: Snapshot, deleted: Set[str]) -> Optional[Set[str]]:
    """Chain IDs of every layer of the images that stay; None when an image's layers are unknown."""
    if any(image.layers is None for image in snapshot.images):
        return None
    return {layer.chain_id for image in snapshot.images if image.id not in deleted for layer in image.layers or []}


def _by_size(snapshot: Snapshot) -> Tuple[Dict[int, List[Tuple[float, str]]], Dict[int, List[Tuple[float, str]]]]:
    """Chains of BuildKit-built images and shared records, each by size, with when they were made."""
    made: Dict[str, float] = {}  # chain -> when its first holder was made
    sizes: Dict[str, int] = {}
    for image in snapshot.images:
        if image.buildkit:
            for layer in image.layers or []:
                made[layer.chain_id] = min(made.get(layer.chain_id, image.created_precise), image.created_precise)
                sizes[layer.chain_id] = layer.size
    chains_of: Dict[int, List[Tuple[float, str]]] = {}
    for chain, size in sizes.items():
        chains_of.setdefault(size, []).append((made[chain], chain))
    records_of: Dict[int, List[Tuple[float, str]]] = {}
    for record in snapshot.build_cache:
        if record.shared and record.size > 0:
            records_of.setdefault(record.size, []).append((record.created_precise, record.id))
    return chains_of, records_of


def _linkable(snapshot: Snapshot) -> bool:
    return snapshot.engine.image_store != 'containerd' and all(image.layers is not None for image in snapshot.images)


def record_chains(snapshot: Snapshot) -> Dict[str, str]:
    """Shared record ID -> the chain ID of the layer it carries, where that can be told (graphdriver stores).

    A record carries a layer of its own size. Where one size belongs to several BuildKit-made chains (a tag
    rebuilt with other content of the same size), the records and the chains of that size are paired in the
    order they were made (record creation, the first image holding the chain); when their numbers differ (the
    same layer made twice gives two records) the size stays unresolved.
    """
    if not _linkable(snapshot):
        return {}
    chains_of, records_of = _by_size(snapshot)
    pairs: Dict[str, str] = {}
    for size, records in records_of.items():
        chains = chains_of.get(size, [])
        if len(chains) == len(records):
            pairs.update((record_id, chain) for (_made, chain), (_created, record_id) in zip(sorted(chains), sorted(records)))
    return _pair_through_parents(snapshot, pairs)


def _pair_through_parents(snapshot: Snapshot, pairs: Dict[str, str]) -> Dict[str, str]:
    """``pairs`` and the shared records tied to a chain through the record parents (20.10 lists them).

    A record's chain is its parent's and one layer more: a record whose child is tied carries the chain below
    the child's, and a record whose one parent is tied carries the one layer of its size that BuildKit made on
    the parent's chain (the history names the step), where there is one. A layer of size 0 (a WORKDIR on
    20.10) is tied only this way; its record frees no bytes, but stays shared until it goes.
    """
    below = chains_below(snapshot.images)
    above: Dict[str, Set[str]] = {}  # chain -> the BuildKit-made chains stacked on it
    sizes: Dict[str, int] = {}
    for image in snapshot.images:
        for layer in image.layers or []:
            if layer_step(layer.step):
                above.setdefault(below[layer.chain_id], set()).add(layer.chain_id)
            sizes[layer.chain_id] = layer.size
    shared = [record for record in snapshot.build_cache if record.shared]
    children: Dict[str, List[str]] = {}
    for record in shared:
        for parent in record.parents:
            children.setdefault(parent, []).append(record.id)
    pairs = dict(pairs)
    changed = True
    while changed:
        changed = False
        for record in shared:
            if record.id in pairs:
                continue
            under = [below[pairs[child]] for child in children.get(record.id, []) if below.get(pairs.get(child, ''))]
            if not under and len(record.parents) == 1 and record.parents[0] in pairs:
                under = [chain for chain in above.get(pairs[record.parents[0]], ()) if sizes[chain] == record.size]
            if len(set(under)) == 1:
                pairs[record.id] = under[0]
                changed = True
    return pairs


@dataclass
class CacheRelease:
    """What the removal of some images does to the shared build cache records."""

    # Record ID -> the removed image credited with the record's own snapshot and its bytes (the containerd store,
    # containerd_released); ('', 0) on graphdriver stores, where the layer is the image's already.
    released: Dict[str, Tuple[str, int]] = field(default_factory=dict)
    # Shared records the removal may set free: the API does not say which image holds them (docs/prune.md).
    may_go: Set[str] = field(default_factory=set)


def cache_release(snapshot: Snapshot, deleted: Iterable[str]) -> CacheRelease:
    """The shared, unused records that the removal of ``deleted`` images sets free, and those it may."""
    deleted = set(deleted)
    if not deleted:
        return CacheRelease()
    if snapshot.engine.image_store == 'containerd':
        release = containerd_released(snapshot, deleted)
        release.may_go |= _containerd_may_go(snapshot, deleted) - set(release.released)
        return release
    return _graphdriver_release(snapshot, deleted)


def _graphdriver_release(snapshot: Snapshot, deleted: Set[str]) -> CacheRelease:
    """Records paired with a lost chain go; so do all records of an unresolved size whose chains are all lost.
    Records of a size with lost and kept chains that cannot be paired may go (the run's second look finds them)."""
    in_use = {record.id for record in snapshot.build_cache if record.in_use}
    if not _linkable(snapshot):
        return CacheRelease(may_go={record.id for record in snapshot.build_cache if record.shared} - in_use)
    lost = lost_chains(snapshot, deleted)
    pairs = record_chains(snapshot)
    released = {record_id for record_id, chain in pairs.items() if chain in lost}
    undecided: Set[str] = set()
    chains_of, records_of = _by_size(snapshot)
    for size, records in records_of.items():
        chains = [chain for _made, chain in chains_of.get(size, [])]
        unpaired = {record_id for _created, record_id in records if record_id not in pairs}
        if chains and all(chain in lost for chain in chains):
            released |= unpaired
        elif any(chain in lost for chain in chains):
            undecided |= unpaired
    released = _with_descendants(snapshot, released) - in_use
    return CacheRelease({record_id: ('', 0) for record_id in released},
                        _with_descendants(snapshot, undecided) - in_use - released)


def _containerd_may_go(snapshot: Snapshot, deleted: Set[str]) -> Set[str]:
    """Shared records no layer of any image can be told for, where the removal may free them (the containerd
    store). A record the engine never exported (a build stage's steps, a failed build's) counts only its exported
    ancestors' blobs, so the images holding it are those whose whole layer list is the chain it was built on (its
    stage's base image), and the API does not say which chain that is: it may go once some whole layer list has
    no image left. A record of a base image's layer (no step) may go once one of those layers has none."""
    shared = [record for record in snapshot.build_cache if record.shared and not record.in_use]
    kept_chains = _kept_chains(snapshot, deleted)
    if kept_chains is None:
        return {record.id for record in shared}
    lists = {image.id: tuple(layer.chain_id for layer in image.layers or []) for image in snapshot.images}
    kept_lists = {layers for image_id, layers in lists.items() if image_id not in deleted}
    list_lost = any(lists[image_id] not in kept_lists for image_id in deleted if image_id in lists)
    base_lost = any(not layer_step(layer.step) and layer.chain_id not in kept_chains
                    for image in snapshot.images if image.id in deleted for layer in image.layers or [])
    told: Dict[str, List[int]] = {}
    for image in snapshot.images:
        for layer in image.layers or []:
            told.setdefault(layer_step(layer.step), []).append(layer.size)
    result = set()
    for record in shared:
        step = record_step(record.description)
        if step and list_lost and not any(_fits(size, record.size) for size in told.get(step, [])):
            result.add(record.id)
        elif not step and base_lost:
            result.add(record.id)
    return result


def _with_descendants(snapshot: Snapshot, released: Set[str]) -> Set[str]:
    """Shared records built on released ones are released too: their chains extend a chain no image holds any
    more (an image holding the longer chain would hold the shorter one). Only engines that list record parents
    (20.10) show them; a layer of size 0 is tied to its record this way alone."""
    children: Dict[str, List[str]] = {}
    for record in snapshot.build_cache:
        for parent in record.parents:
            children.setdefault(parent, []).append(record.id)
    shared = {record.id for record in snapshot.build_cache if record.shared}
    result, pending = set(released), list(released)
    while pending:
        for child in children.get(pending.pop(), []):
            if child in shared and child not in result:
                result.add(child)
                pending.append(child)
    return result


def _normal_step(step: str) -> str:
    """A Dockerfile step without the flags history leaves out (``COPY --from=build`` reads ``COPY``)."""
    words = step.split()
    if words and words[0] in ('COPY', 'ADD'):
        words = words[:1] + [word for word in words[1:] if not word.startswith('--')]
    return ' '.join(words)


def record_step(description: str) -> str:
    """The step a containerd-store record was made by, as the image history writes it; '' for other records
    (build contexts, sources, cache mounts)."""
    if description.startswith(_RUN_RECORD):
        return _normal_step('RUN ' + description[len(_RUN_RECORD):])
    step = _STEP_NUMBER.sub('', description, count=1)
    return _normal_step(step) if step != description else ''


def layer_step(created_by: str) -> str:
    """The step a BuildKit-made layer came from, from its history entry; '' for layers of other builders.
    BuildKit marks the steps it ran (``RUN``, ``COPY``, ``ADD``) with a comment; a ``WORKDIR`` that made a
    layer it writes bare (the legacy builder writes ``/bin/sh -c #(nop) WORKDIR``)."""
    if created_by.endswith(_BUILDKIT_STEP):
        return _normal_step(created_by[:-len(_BUILDKIT_STEP)])
    return created_by if created_by.startswith(_WORKDIR_STEP) else ''


def _fits(layer_size: int, record_size: int) -> bool:
    """Whether a containerd-store record of ``record_size`` can carry a layer of ``layer_size``: the layer's
    snapshot plus at most its compressed blob."""
    return layer_size < record_size <= 2 * layer_size + BLOB_SLACK


def _walk_layers(snapshot: Snapshot, deleted: Set[str]) -> Tuple[Set[Tuple[str, str]], Set[Tuple[str, str]]]:
    """The layers, as (step, chain ID), whose records no image holds once ``deleted`` are gone, and those whose
    records stay held (the containerd store).

    A removed image's records go from its top down: the top record loses the image whose whole layer list it
    matched, and a record below loses its last holder once the record above it goes. The walk stops at the
    first layer an image that stays also holds, or that no record can be told for (no BuildKit step): that
    record stays shared, and so does every record below it, which may hold the walks of other removed images
    (repeated until nothing more is held).
    """
    keys = {image.id: [(layer_step(layer.step), layer.chain_id) for layer in image.layers or []]
            for image in snapshot.images}
    held = {key for image_id, layers in keys.items() for key in layers if image_id not in deleted or not key[0]}
    removed = [keys[image_id] for image_id in sorted(deleted) if image_id in keys]
    while True:
        stopped = set()
        for layers in removed:
            below = next((index for index in range(len(layers) - 1, -1, -1) if layers[index] in held), -1)
            stopped.update(layers[:below + 1])
        if stopped <= held:
            return {key for layers in removed for key in layers} - held, held
        held |= stopped


def containerd_released(snapshot: Snapshot, deleted: Set[str]) -> CacheRelease:
    """Shared, unused records that the removal of ``deleted`` sets free on the containerd store, each with the
    removed image credited with its layer and the layer's size: the engine counts a record's own snapshot among
    image layers, so removing the record frees that layer's size once more (docs/prune.md).

    A record is told for a layer by its step and its size (_fits). Several builds write the same step
    (``COPY --from=build /out /app``) for other content: a record goes when it fits a layer the walk frees
    (_walk_layers) and none that stays held; two records of one chain (a build made again with --no-cache) both
    matched the image. Where it fits several freed layers, the image credited is the one whose layer's bytes
    (snapshot and blob, content_estimate.layer_bytes) come nearest the record's size, which counts the same
    two (random seed 101 on 28.5: ``COPY --from=build /out /app`` records of 97,708 and 131,871 bytes, layers of
    53,248 and 73,728 with blobs of 44,460 and 58,143; the larger layer for both counted 20,480 twice).
    A record that fits both a freed and a held layer of its step may go: the sizes do not
    tell which one it made (random seeds 103 and 106 on 28.5: pairing such records by the layers' estimated
    sizes was right on one seeding and wrong on another)."""
    if _kept_chains(snapshot, deleted) is None:
        return CacheRelease()
    freed, held = _walk_layers(snapshot, deleted)
    whole = layer_bytes(snapshot.images)
    sizes: Dict[str, int] = {}
    credited: Dict[Tuple[str, str], str] = {}  # freed layer -> the first removed image holding it, by ID
    for image in sorted(snapshot.images, key=lambda image: image.id):
        for layer in image.layers or []:
            sizes[layer.chain_id] = layer.size
            credited.setdefault((layer_step(layer.step), layer.chain_id), image.id)
    records: Dict[str, List[BuildCacheRecord]] = {}
    for record in snapshot.build_cache:
        if record.shared and not record.in_use and record_step(record.description):
            records.setdefault(record_step(record.description), []).append(record)
    chains_of_step: Dict[str, Set[str]] = {}
    for key_step, chain in freed | held:
        chains_of_step.setdefault(key_step, set()).add(chain)
    result = CacheRelease()
    for step, candidates in records.items():
        layers = chains_of_step.get(step, set())
        for record in candidates:
            fits = [(abs(whole.get(chain, sizes[chain]) - record.size), -sizes[chain], credited[(step, chain)])
                    for chain in layers if (step, chain) in freed and _fits(sizes[chain], record.size)]
            if fits and any((step, chain) in held and _fits(sizes[chain], record.size) for chain in layers):
                result.may_go.add(record.id)
            elif fits:
                _distance, negative_size, image_id = min(fits)  # the nearest layer, then the largest, then the image
                result.released[record.id] = (image_id, -negative_size)
    return result
