# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image candidates: what the policy lets go and keeps, base-image protection, and fitting a size budget in
least-recently-used order. The bytes are counted in image_bytes. Pure: no I/O."""

from __future__ import annotations

import fnmatch
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.image_bytes import Removal, credit_bytes, release_cache_held_layers
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem, add_skipped, older
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import (
    BASE_IMAGE_LABEL, Image, Snapshot, image_name, normalize_reference)


def image_last_used(image: Image, last_used: Dict[str, int]) -> int:
    """Newest of: recorded use, tag time, creation. The least-recently-used order sorts by this."""
    return max(last_used.get(image.id, 0), image.last_tagged, image.created)


def tag_times_matter(policy: Policy) -> bool:
    """Whether the policy picks images by last use (an age limit on it, or least-recently-used under a budget),
    so an image's tag time can decide whether it goes."""
    return policy.budgeted or (policy.older_than is not None and policy.age_basis != 'created')


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
    if not older(policy, now, when):
        return 'newer than older_than (%s)' % ('created' if policy.age_basis == 'created' else 'last used')
    return None


def ancestors(image: Image, by_id: Dict[str, Image]) -> Iterable[Image]:
    seen = set()
    parent = by_id.get(image.parent)
    while parent is not None and parent.id not in seen:
        seen.add(parent.id)
        yield parent
        parent = by_id.get(parent.parent)


def _by_reference(images: Iterable[Image]) -> Dict[str, Image]:
    """Images by the short form of each of their tags."""
    return {normalize_reference(tag): image for image in images for tag in image.tags}


def builds_on(image: Image, by_id: Dict[str, Image], by_ref: Dict[str, Image]) -> List[Image]:
    """What an image builds on: its parents, then the image its base_image label names (when present)."""
    bases = list(ancestors(image, by_id))
    label = image.labels.get(BASE_IMAGE_LABEL)
    if label and normalize_reference(label) in by_ref:
        bases.append(by_ref[normalize_reference(label)])
    return bases


def _protect_bases(candidates: Dict[str, str], images: List[Image], by_id: Dict[str, Image],
                   plan: Plan) -> None:
    """Drop from ``candidates`` the base images and parents of every image that stays, to a fixpoint."""
    by_ref = _by_reference(images)
    changed = True
    while changed:
        changed = False
        for image in images:
            if image.id in candidates or image.intermediate:
                continue
            for base in builds_on(image, by_id, by_ref):
                if base.id in candidates:
                    del candidates[base.id]
                    add_skipped(plan, 'image', base.id, base.tags, 'base image of kept image %s' % image_name(image))
                    changed = True


def plan_images(snapshot: Snapshot, policy: Policy, removed_containers: Set[str],
                last_used: Dict[str, int], plan: Plan, need: Optional[int]) -> int:
    """Plan image removals; return the bytes they free (counted against a budget)."""
    if policy.images == 'none':
        return 0
    cache_sizes = {record.size for record in snapshot.build_cache if record.shared and record.size > 0}
    containerd_store = snapshot.engine.image_store == 'containerd'
    images = sorted((release_cache_held_layers(image, cache_sizes, containerd_store) for image in snapshot.images),
                    key=lambda i: i.id)
    by_id = {image.id: image for image in images}
    remaining_users: Dict[str, List[str]] = {}
    tagged = _by_reference(images)
    for container in snapshot.containers:
        if container.id not in removed_containers:
            user = container.names[0] if container.names else container.id[:12]
            remaining_users.setdefault(container.image_id, []).append(user)
            # The containerd store's prune also keeps the image a container was created by name.
            reference = container.config_image or container.image
            by_name = tagged.get(normalize_reference(reference)) if containerd_store and reference else None
            if by_name and by_name.id != container.image_id:
                remaining_users.setdefault(by_name.id, []).append(user)
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
            add_skipped(plan, 'image', image.id, image.tags, 'in use by container %s' % ', '.join(sorted(remaining_users[image.id])))
            continue
        reason = _keep_reason(image, policy, newest, snapshot.taken_at, last_used)
        if reason:
            add_skipped(plan, 'image', image.id, image.tags, reason)
            continue
        candidates[image.id] = 'dangling image' if dangling else 'unused image'
    # Images used by remaining containers keep their parents by the engine's own rules too.
    for image in images:
        if image.id in remaining_users and not containerd_store:
            for parent in ancestors(image, by_id):
                if candidates.pop(parent.id, None):
                    add_skipped(plan, 'image', parent.id, parent.tags, 'parent of image in use %s' % image_name(image))
    if policy.protect_base_images:
        _protect_bases(candidates, images, by_id, plan)
    # Images used only by containers this plan removes count as unused from here on.
    pinned = set(remaining_users)
    if need is not None:
        _fit_budget(candidates, Removal(images, pinned, containerd_store), last_used, need, plan,
                    policy.protect_base_images)
    removal = Removal(images, pinned, containerd_store)
    for image_id in sorted(candidates):
        removal.add(image_id, candidates)
    deleted = removal.deleted
    credit = credit_bytes(removal.owners, deleted)
    # Children before parents: the engine refuses to delete an image others build on.
    chains = {image.id: [image.id] + [parent.id for parent in ancestors(image, by_id)] for image in images}
    for image in sorted(images, key=lambda i: (-len(chains[i.id]), i.id)):
        wave, family = 1 - len(chains[image.id]), chains[image.id][-1]
        if image.id in deleted:
            reason = candidates.get(image.id, 'untagged parent of a removed image')
            plan.items.append(PlanItem('image', image.id, list(image.tags), credit[image.id], reason, wave=wave,
                                       family=family))
        elif image.id in candidates:
            plan.items.append(PlanItem('image', image.id, image.tags, 0,
                                       candidates[image.id] + ' (untag only: other images build on it)', 'untag',
                                       wave=wave, family=family))
    return sum(credit.values())


def _fit_budget(candidates: Dict[str, str], removal: Removal,
                last_used: Dict[str, int], need: int, plan: Plan, protect: bool = True) -> None:
    """Keep only the least-recently-used candidates needed to free ``need`` bytes.

    With base-image protection, a candidate is only taken once every candidate that builds on it
    or names it in its base_image label is taken: one left behind would keep it.
    """
    by_id = removal.by_id
    by_ref = _by_reference(by_id.values())
    protectors: Dict[str, Set[str]] = {image_id: set() for image_id in candidates}
    if protect:
        for image_id in candidates:
            for base_id in (base.id for base in builds_on(by_id[image_id], by_id, by_ref)):
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
        add_skipped(plan, 'image', image_id, by_id[image_id].tags,
                    'budget met' if removal.freed >= need else 'base image of a kept image')
    candidates.clear()
    candidates.update(chosen)
