# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""(snapshot, policy, last-used times) -> plan. Pure: no I/O, deterministic.

The order follows `docker system prune`: containers first, so images, volumes and networks
that only removed containers used become removable in the same plan; then images, volumes,
networks, build cache. Nothing that a remaining container uses is ever planned.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.cache_links import record_chains, released_records
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BASE_IMAGE_LABEL, BuildCacheRecord, Container, Image, Layer, Snapshot, image_name, normalize_reference)

TYPE_ORDER = ('container', 'image', 'volume', 'network', 'build_cache')
STOPPED_STATES = ('created', 'exited', 'dead')
# BuildKit's own prune without "all" leaves these record types alone.
PROTECTED_CACHE_TYPES = frozenset(('internal', 'frontend'))


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


def _skip(plan: Plan, kind: str, ident: str, names: List[str], reason: str) -> None:
    plan.skipped.append({'type': kind, 'id': ident, 'names': list(names), 'reason': reason})


def _older(policy: Policy, now: int, when: int) -> bool:
    """True when ``when`` is before the policy's age cut-off (or there is no cut-off)."""
    return policy.older_than is None or when < now - policy.older_than


def _label_or_age_reason(policy: Policy, now: int, labels: Dict[str, str], created: int) -> Optional[str]:
    """Why a container, volume or network stays despite its target: a keep label, or its age."""
    if policy.keeps_labels(labels):
        return 'keep_labels'
    if not _older(policy, now, created):
        return 'newer than older_than'
    return None


# ---------------------------------------------------------------- containers
def _plan_containers(snapshot: Snapshot, policy: Policy, plan: Plan) -> Set[str]:
    removed: Set[str] = set()
    if not policy.containers:
        return removed
    for container in sorted(snapshot.containers, key=lambda c: c.id):
        if container.state not in STOPPED_STATES:
            continue
        reason = _label_or_age_reason(policy, snapshot.taken_at, container.labels, container_age_from(container))
        if reason:
            _skip(plan, 'container', container.id, container.names, reason)
        else:
            removed.add(container.id)
            plan.items.append(PlanItem('container', container.id, container.names, max(container.size_rw, 0),
                                       'stopped container (%s)' % container.state))
    return removed


def container_age_from(container: Container) -> int:
    """A stopped container's age counts from when it stopped (as kubelet's GC does for dead containers), so
    a service stopped yesterday after running for a month is one day old; one that never ran, from creation."""
    return container.finished if container.finished > 0 else container.created


# ---------------------------------------------------------------- images
def image_last_used(image: Image, last_used: Dict[str, int]) -> int:
    """Newest of: recorded use, tag time, creation. The least-recently-used order sorts by this."""
    return max(last_used.get(image.id, 0), image.last_tagged, image.created)


def _repository(tag: str) -> str:
    name, _sep, _tag = tag.rpartition(':')
    return name if '/' not in _tag else tag


def _newest_per_repository(images: Iterable[Image], count: int) -> Dict[str, str]:
    """image id -> repository for images holding one of the newest ``count`` tags of a repository."""
    by_repo: Dict[str, List[Tuple[int, str, str]]] = {}
    for image in images:
        for tag in image.tags:
            by_repo.setdefault(_repository(tag), []).append((image.created, tag, image.id))
    kept: Dict[str, str] = {}
    for repo, entries in by_repo.items():
        for _created, _tag, image_id in sorted(entries, key=lambda e: (-e[0], e[1]))[:count]:
            kept.setdefault(image_id, repo)
    return kept


def _reference_forms(tag: str) -> List[str]:
    """A tag as written, in its short form (no docker.io/library/) and fully qualified."""
    short = normalize_reference(tag)
    first, slash, _rest = short.partition('/')
    if not slash:
        full = 'docker.io/library/' + short
    elif '.' in first or ':' in first or first == 'localhost':
        full = short
    else:
        full = 'docker.io/' + short
    return [tag, short, full]


def _keep_reason(image: Image, policy: Policy, newest: Dict[str, str], now: int,
                 last_used: Dict[str, int]) -> Optional[str]:
    # Digest references (repo@sha256:...) are matched too: an image pulled by digest has no tag.
    references = [form for ref in image.tags + image.digests for form in _reference_forms(ref)]
    for pattern in policy.keep_images:
        if any(fnmatch.fnmatchcase(ref, pattern) for ref in references):
            return 'keep_images: %s' % pattern
    for rule in policy.keep_labels:
        if rule.matches(image.labels):
            return 'keep_labels: %s' % (rule.key if rule.value is None else '%s=%s' % (rule.key, rule.value))
    if image.id in newest:
        return 'keep_latest: one of the newest %d tags of %s' % (policy.keep_latest or 0, newest[image.id])
    when = image.created if policy.age_basis == 'created' else image_last_used(image, last_used)
    if not _older(policy, now, when):
        return 'newer than older_than (%s)' % ('created' if policy.age_basis == 'created' else 'last used')
    return None


def _ancestors(image: Image, by_id: Dict[str, Image]) -> Iterable[Image]:
    seen = set()
    parent = by_id.get(image.parent)
    while parent is not None and parent.id not in seen:
        seen.add(parent.id)
        yield parent
        parent = by_id.get(parent.parent)


def _protect_bases(candidates: Dict[str, str], images: List[Image], by_id: Dict[str, Image],
                   plan: Plan) -> None:
    """Drop from ``candidates`` the base images and parents of every image that stays, to a fixpoint."""
    by_ref = {}
    for image in images:
        for tag in image.tags:
            by_ref[normalize_reference(tag)] = image
    changed = True
    while changed:
        changed = False
        for image in images:
            if image.id in candidates or image.intermediate:
                continue
            protected = list(_ancestors(image, by_id))
            label = image.labels.get(BASE_IMAGE_LABEL)
            if label and normalize_reference(label) in by_ref:
                protected.append(by_ref[normalize_reference(label)])
            for base in protected:
                if base.id in candidates:
                    del candidates[base.id]
                    _skip(plan, 'image', base.id, base.tags, 'base image of kept image %s' % image_name(image))
                    changed = True


class _Removal:
    """Which images really go, and the bytes they free, grown one candidate at a time.

    An image goes once all its children go: a chosen candidate, or an untagged parent reached
    from a removed child (the engine deletes those with the child). A tagged candidate that
    other images still build on is only untagged. The containerd store keeps parents only as
    metadata: there an image goes whatever its children, and its untagged parent goes with it.
    """

    def __init__(self, images: List[Image], pinned: Set[str], containerd_store: bool = False) -> None:
        self.by_id = {image.id: image for image in images}
        self.pinned = pinned
        self.containerd_store = containerd_store
        self.deleted: Set[str] = set()
        self.freed = 0
        self.owners = _layer_owners(images)
        self._left = {key: len(holders) for key, (_size, holders) in self.owners.items()}
        self._layers_of: Dict[str, List[str]] = {}
        for key, (_size, holders) in self.owners.items():
            for holder in holders:
                self._layers_of.setdefault(holder, []).append(key)

    def add(self, image_id: str, candidates: Dict[str, str]) -> None:
        """Remove ``image_id`` if it can go now, then whatever parents that frees."""
        stack = [image_id]
        while stack:
            image = self.by_id.get(stack.pop())
            if image is None or image.id in self.deleted or image.id in self.pinned:
                continue
            if image.id not in candidates and not image.untagged:
                continue
            if not self.containerd_store and not all(child in self.deleted for child in image.children):
                continue
            self.deleted.add(image.id)
            for key in self._layers_of.get(image.id, []):
                self._left[key] -= 1
                if not self._left[key]:
                    self.freed += self.owners[key][0]
            stack.append(image.parent)


def _layer_owners(images: Iterable[Image]) -> Dict[str, Tuple[int, Set[str]]]:
    """layer key -> (size, images holding it).

    The engine's own unique size (size minus shared size) counts as one private layer per image;
    it also covers what the containerd store keeps besides unpacked layers (compressed blobs,
    manifests). Layers several images hold come from the image history, keyed by chain ID.
    """
    images = list(images)
    holders: Dict[str, Set[str]] = {}
    sizes: Dict[str, int] = {}
    for image in images:
        for layer in image.layers or []:
            holders.setdefault(layer.chain_id, set()).add(image.id)
            sizes[layer.chain_id] = layer.size
    owners = {key: (sizes[key], ids) for key, ids in holders.items() if len(ids) > 1}
    for image in images:
        owners['own:' + image.id] = (_own_bytes(image, holders), {image.id})
    return owners


def _own_bytes(image: Image, holders: Dict[str, Set[str]]) -> int:
    """Bytes only this image holds.

    Graphdriver stores: the engine's size minus shared size, exact. The containerd store counts
    shared unpacked snapshots but not shared content blobs in the shared size, so there the own
    part is: unpacked layers no other image holds, plus the same share of the content blobs.
    """
    if not image.layers:
        return max(image.unique_size, 0)
    own = sum(layer.size for layer in image.layers if len(holders.get(layer.chain_id, ())) <= 1)
    if image.content_size < 0:
        return own
    unpacked = sum(layer.size for layer in image.layers)
    return own + image.content_size * own // unpacked if own else 0


def _release_cache_held_layers(image: Image, cache_sizes: Set[int], containerd_store: bool,
                               held_chains: Iterable[str] = ()) -> Image:
    """A copy of a BuildKit-built image whose layers the build cache also holds count 0 bytes:
    deleting the image leaves them on disk with the build cache (graphdriver stores, where a record
    and the image layer it made are one layer on disk, tied by size: see cache_links).

    The containerd store keeps the image's unpacked layers apart from BuildKit's own snapshots, so
    there removing the image frees its layers whatever the build cache holds. ``held_chains`` are layers
    known (cache_links) to be held by records that stay; ``cache_sizes`` those held as far as sizes tell.
    """
    held_chains = set(held_chains)
    if containerd_store or not image.buildkit or not image.layers or not (cache_sizes or held_chains):
        return image
    held = [layer.size in cache_sizes or layer.chain_id in held_chains for layer in image.layers]
    if not any(held):
        return image
    return replace(image, layers=[Layer(layer.chain_id, 0) if hold else layer
                                  for layer, hold in zip(image.layers, held)])


def freed_bytes(images: List[Image], removed: Set[str]) -> Dict[str, int]:
    """Bytes each removed image frees: every layer no remaining image holds, counted once.

    A layer shared by several removed images is credited to the first of them by ID.
    """
    return _credit(_layer_owners(images), removed)


def _credit(owners: Dict[str, Tuple[int, Set[str]]], removed: Set[str]) -> Dict[str, int]:
    credit = {image_id: 0 for image_id in removed}
    for size, holders in owners.values():
        if holders <= removed:
            credit[min(holders)] += size
    return credit


def _plan_images(snapshot: Snapshot, policy: Policy, removed_containers: Set[str],
                 last_used: Dict[str, int], plan: Plan, need: Optional[int]) -> int:
    """Plan image removals; return the bytes they free (counted against a budget)."""
    if policy.images == 'none':
        return 0
    cache_sizes = {record.size for record in snapshot.build_cache if record.shared and record.size > 0}
    containerd_store = snapshot.engine.image_store == 'containerd'
    images = sorted((_release_cache_held_layers(image, cache_sizes, containerd_store) for image in snapshot.images),
                    key=lambda i: i.id)
    by_id = {image.id: image for image in images}
    remaining_users: Dict[str, List[str]] = {}
    tagged = {normalize_reference(tag): image.id for image in images for tag in image.tags}
    for container in snapshot.containers:
        if container.id not in removed_containers:
            user = container.names[0] if container.names else container.id[:12]
            remaining_users.setdefault(container.image_id, []).append(user)
            # The containerd store's prune also keeps the image a container was created by name.
            reference = container.config_image or container.image
            by_name = tagged.get(normalize_reference(reference)) if containerd_store and reference else None
            if by_name and by_name != container.image_id:
                remaining_users.setdefault(by_name, []).append(user)
    newest = _newest_per_repository(images, policy.keep_latest) if policy.keep_latest else {}
    candidates: Dict[str, str] = {}
    # The containerd store keeps parents as metadata only: its prune treats every untagged image
    # as dangling, intermediates included, and a parent may go while its children stay.
    for image in images:
        if containerd_store:
            dangling, skip = image.untagged, policy.images == 'dangling' and not image.untagged
        else:
            dangling, skip = image.dangling, image.intermediate or (policy.images == 'dangling' and not image.dangling)
        if skip:
            continue
        if image.id in remaining_users:
            _skip(plan, 'image', image.id, image.tags, 'in use by container %s' % ', '.join(sorted(remaining_users[image.id])))
            continue
        reason = _keep_reason(image, policy, newest, snapshot.taken_at, last_used)
        if reason:
            _skip(plan, 'image', image.id, image.tags, reason)
            continue
        candidates[image.id] = 'dangling image' if dangling else 'unused image'
    # Images used by remaining containers keep their parents by the engine's own rules too.
    for image in images:
        if image.id in remaining_users and not containerd_store:
            for parent in _ancestors(image, by_id):
                if candidates.pop(parent.id, None):
                    _skip(plan, 'image', parent.id, parent.tags, 'parent of image in use %s' % image_name(image))
    if policy.protect_base_images:
        _protect_bases(candidates, images, by_id, plan)
    # Images used only by containers this plan removes count as unused from here on.
    pinned = set(remaining_users)
    if need is not None:
        _fit_budget(candidates, _Removal(images, pinned, containerd_store), last_used, need, plan,
                    policy.protect_base_images)
    removal = _Removal(images, pinned, containerd_store)
    for image_id in sorted(candidates):
        removal.add(image_id, candidates)
    deleted = removal.deleted
    credit = _credit(removal.owners, deleted)
    # Children before parents: the engine refuses to delete an image others build on.
    depth = {image.id: len(list(_ancestors(image, by_id))) for image in images}
    for image in sorted(images, key=lambda i: (-depth[i.id], i.id)):
        if image.id in deleted:
            reason = candidates.get(image.id, 'untagged parent of a removed image')
            plan.items.append(PlanItem('image', image.id, list(image.tags), credit[image.id], reason, wave=-depth[image.id]))
        elif image.id in candidates:
            plan.items.append(PlanItem('image', image.id, image.tags, 0,
                                       candidates[image.id] + ' (untag only: other images build on it)', 'untag',
                                       wave=-depth[image.id]))
    return sum(credit.values())


def _fit_budget(candidates: Dict[str, str], removal: _Removal,
                last_used: Dict[str, int], need: int, plan: Plan, protect: bool = True) -> None:
    """Keep only the least-recently-used candidates needed to free ``need`` bytes.

    With base-image protection, a candidate is only taken once every candidate that builds on it
    or names it in its base_image label is taken: one left behind would keep it.
    """
    by_id = removal.by_id
    by_ref = {normalize_reference(tag): image.id for image in by_id.values() for tag in image.tags}
    protectors: Dict[str, Set[str]] = {image_id: set() for image_id in candidates}
    if protect:
        for image_id in candidates:
            image = by_id[image_id]
            named = [parent.id for parent in _ancestors(image, by_id)]
            label = image.labels.get(BASE_IMAGE_LABEL)
            if label and normalize_reference(label) in by_ref:
                named.append(by_ref[normalize_reference(label)])
            for base_id in named:
                if base_id in protectors and base_id != image_id:
                    protectors[base_id].add(image_id)
    pending = sorted(candidates, key=lambda i: (image_last_used(by_id[i], last_used), by_id[i].created, i))
    chosen: Dict[str, str] = {}
    while pending and removal.freed < need:
        ready = [image_id for image_id in pending if protectors[image_id] <= set(chosen)]
        if not ready:
            break
        pending.remove(ready[0])
        chosen[ready[0]] = candidates[ready[0]] + ' (least recently used, over budget)'
        removal.add(ready[0], chosen)
    for image_id in pending:
        _skip(plan, 'image', image_id, by_id[image_id].tags,
              'budget met' if removal.freed >= need else 'base image of a kept image')
    candidates.clear()
    candidates.update(chosen)


# ---------------------------------------------------------------- volumes and networks
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
            _skip(plan, 'volume', volume.name, [volume.name], reason)
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
            _skip(plan, 'network', network.id, [network.name], reason)
        else:
            plan.items.append(PlanItem('network', network.id, [network.name], 0, 'unused network'))


# ---------------------------------------------------------------- build cache
def _cache_last_used(record: BuildCacheRecord) -> int:
    return record.last_used or record.created


def cache_old_enough(record: BuildCacheRecord, policy: Policy, now: int) -> bool:
    """Whether a record is past the policy's age limit (by creation or last use, per age_basis)."""
    return _older(policy, now, record.created if policy.age_basis == 'created' else _cache_last_used(record))


def _plan_build_cache(snapshot: Snapshot, policy: Policy, plan: Plan, need: Optional[int]) -> Set[str]:
    """Plan build cache removals; return the IDs of planned records that were shared with removed images."""
    if policy.build_cache == 'none':
        return set()
    deleted = {item.id for item in plan.items if item.type == 'image' and item.action == 'remove'}
    # A reserve keeps what it keeps; otherwise records the removed images set free go with them (under a budget
    # too: the layers they hold are only freed with them).
    released = set() if policy.build_cache_reserve is not None else released_records(snapshot, deleted)
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
            _skip(plan, 'build_cache', record.id, [record.description], 'shared with a kept image')
            continue
        if not cache_old_enough(record, policy, snapshot.taken_at):
            _skip(plan, 'build_cache', record.id, [record.description], 'newer than older_than')
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
                _skip(plan, 'build_cache', record.id, [record.description], 'a kept cache record builds on it')
                changed = True
    limit = _cache_bytes_to_free(snapshot, policy, need)
    chosen: Set[str] = set()
    freed = 0
    pending = list(eligible)  # least recently used first
    while pending and (limit is None or freed < limit):
        record = next(r for r in pending if children.get(r.id, set()) <= chosen)
        pending.remove(record)
        chosen.add(record.id)
        freed += 0 if record.shared else record.size
    for record in list(pending):
        if record.id in released:  # freed with the images that held it, whatever the budget
            pending.remove(record)
            chosen.add(record.id)
    for record in pending:
        _skip(plan, 'build_cache', record.id, [record.description],
              'budget met' if need is not None else 'within build_cache_reserve')
    # BuildKit only frees a record once every record built on it goes too.
    changed = True
    while changed:
        changed = False
        for record_id in sorted(chosen):
            if not children.get(record_id, set()) <= chosen:
                chosen.discard(record_id)
                _skip(plan, 'build_cache', record_id, [records[record_id].description],
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
    return {record_id for record_id in chosen if records[record_id].shared}


def _credit_released_layers(snapshot: Snapshot, plan: Plan, released: Set[str]) -> None:
    """Give removed images the bytes of their layers that planned records held: with the records gone too,
    the engine frees those layers (and counts them among image layers). Layers records that stay hold count
    nothing: they stay on disk with the build cache."""
    pairs = record_chains(snapshot)
    staying = [record for record in snapshot.build_cache if record.shared and record.id not in released]
    held_chains = {pairs[record.id] for record in staying if record.id in pairs}
    held_sizes = {record.size for record in staying if record.id not in pairs and record.size > 0}
    containerd_store = snapshot.engine.image_store == 'containerd'
    images = [_release_cache_held_layers(image, held_sizes, containerd_store, held_chains) for image in snapshot.images]
    items = [item for item in plan.items if item.type == 'image' and item.action == 'remove']
    credit = _credit(_layer_owners(images), {item.id for item in items})
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


# ---------------------------------------------------------------- budget
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
    freed_by_images = _plan_images(snapshot, policy, removed_containers, last_used, plan, need)
    _plan_volumes(snapshot, policy, removed_containers, plan)
    _plan_networks(snapshot, policy, removed_containers, plan)
    cache_need = None if need is None else max(need - freed_by_images, 0)
    released = _plan_build_cache(snapshot, policy, plan, cache_need)
    if released:
        _credit_released_layers(snapshot, plan, released)
    plan.items.sort(key=lambda item: TYPE_ORDER.index(item.type))  # stable: keeps each type's own order
    plan.skipped.sort(key=lambda entry: (TYPE_ORDER.index(entry['type']), entry['id'], entry['reason']))
    return plan
