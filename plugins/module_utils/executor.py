# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan -> engine calls -> outcome.

Each item is removed without force, so the engine itself refuses anything a container
started using since the plan was made; such refusals are reported as skipped, never
retried with force. A concurrent prune on the engine (HTTP 409 "prune ... already running")
is retried with backoff; when the engine still answers so after the last retry, the run stops there
(the rest of the plan is reported as not done) instead of waiting out the backoff for every record.
Items of one wave (see PlanItem) are deleted several at a time, images of one family one at a time.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Set

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    Engine, EngineAPIError, EngineError, map_concurrently)
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy
from ansible_collections.cachewarden.docker.plugins.module_utils.records import BuildCacheRecord
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_build_cache, read_layers_size

PRUNE_RETRIES = 5
PRUNE_BACKOFF_SECONDS = 0.5
CACHE_RELEASE_TRIES = 4
# How a planned build cache record the engine would not prune is reported (skipped_items).
ENGINE_KEPT = 'the engine kept it'
# Record IDs named in one build cache prune call (BuildKit's IDs are 25 characters: about 2.6 KB of URL).
CACHE_IDS_PER_CALL = 100


@dataclass
class Outcome:
    """What really happened: removed items, items skipped at run time, and errors that did not stop the run."""

    removed: List[PlanItem] = field(default_factory=list)
    skipped: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    interrupted: Optional[str] = None  # why the run stopped before the end of the plan
    # Containerd store: of the pruned records' sizes, the bytes the engine did not count among image layers
    # (compressed blobs of layers an image once exported, see Executor.blob_watch).
    cache_blob_bytes: int = 0
    # Of the image row's reclaimed bytes, those that records released outside the plan freed (their layers, which
    # the engine counts among image layers; prune_run._prune_released_cache).
    released_image_bytes: int = 0


def _is_prune_running(error: EngineAPIError) -> bool:
    return error.status_code == 409 and 'prune' in str(error).lower() and 'running' in str(error).lower()


def busy_message(error: EngineAPIError, retries: int = PRUNE_RETRIES, backoff: float = PRUNE_BACKOFF_SECONDS) -> str:
    """Why a run stopped when another prune kept the engine busy through every retry."""
    waited = backoff * (2 ** retries - 1)
    return ('another prune kept running on the engine: it still answered HTTP 409 after %d retries with backoff '
            '(%.1f s): %s' % (retries, waited, error))


def with_prune_retry(call: Callable[[], Any], sleep: Callable[[float], None] = time.sleep,
                     retries: int = PRUNE_RETRIES, backoff: float = PRUNE_BACKOFF_SECONDS) -> Any:
    """Run ``call``; while the engine says another prune is running, wait (doubling) and try again."""
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return call()
        except EngineAPIError as exc:
            if not _is_prune_running(exc) or attempt == retries:
                raise
            sleep(delay)
            delay *= 2
    raise AssertionError('unreachable')  # pragma: no cover


def waves(items: List[PlanItem]) -> Iterator[List[PlanItem]]:
    """Runs of consecutive items of the same type and wave, in plan order."""
    for _key, group in itertools.groupby(items, key=lambda item: (item.type, item.wave)):
        yield list(group)


class Executor:
    """Carries out one plan on one engine."""

    def __init__(self, engine: Engine, policy: Policy, sleep: Callable[[float], None] = time.sleep,
                 blob_watch: FrozenSet[str] = frozenset()) -> None:
        self.engine = engine
        self.policy = policy
        self.sleep = sleep  # waits between retries (a test passes a recorder)
        # Containerd store: records no image held when the plan was made. Such a record whose layer an image once
        # exported keeps the layer's compressed blob, counted in the record's size but not in LayersSize; these
        # records are pruned in calls of their own between two reads of LayersSize, which measure that blob.
        self.blob_watch = blob_watch
        self.outcome = Outcome()
        # Images the engine reported deleted in answers to this run's own DELETE calls (untagged parents go
        # with their last child): those plan items are done, and a 404 for any other image is someone else's.
        self._deleted_images: Set[str] = set()

    def run(self, plan: Plan) -> Outcome:
        """Remove in plan order: containers, images, volumes, networks, then build cache in one call."""
        cache_items = [item for item in plan.items if item.type == 'build_cache']
        try:
            for wave in waves([item for item in plan.items if item.type != 'build_cache']):
                self._remove_wave(wave)
            if cache_items:
                self._prune_build_cache(cache_items)
        except EngineError as exc:  # the engine went away: stop, report what is left
            self.outcome.interrupted = str(exc)
        return self.outcome

    def prune_released(self, items: List[PlanItem]) -> Outcome:
        """Prune build cache records found after the plan ran (see prune_run.released_cache)."""
        try:
            self._prune_build_cache(items)
        except EngineError as exc:
            self.outcome.interrupted = str(exc)
        return self.outcome

    def _skip(self, item: PlanItem, reason: str) -> None:
        self.outcome.skipped.append({'type': item.type, 'id': item.id, 'names': list(item.names), 'reason': reason})

    def _remove_wave(self, items: List[PlanItem]) -> None:
        """Delete the items concurrently, then record each outcome in plan order.

        An item whose call failed without an answer (a timeout, a reset connection), or with an unexpected
        error while others were deleted beside it, is tried once more alone. If that gets no answer either
        while the engine still answers its ping, the item stays in not_done and the run goes on; when the
        engine does not answer, it is gone and the run stops after recording what did succeed.
        """
        answered = (EngineAPIError, _Refused)
        errors = self._attempt_by_family(items) if items[0].type == 'image' else map_concurrently(self._attempt, items)
        alive = all(error is None or isinstance(error, answered) for error in errors) or self._engine_answers()
        gone: Optional[EngineError] = None
        for item, error in zip(items, errors):
            unexpected = isinstance(error, EngineAPIError) and error.status_code not in (403, 404, 409) and len(items) > 1
            if alive and (unexpected or (error is not None and not isinstance(error, answered))):
                error = self._attempt(item)
            if error is None or isinstance(error, answered):
                self._record(item, error)
            elif alive and self._engine_answers():
                self.outcome.errors.append('%s %s: no answer in time, left for the next run: %s' % (item.type, item.id, error))
            else:
                alive = False
                gone = gone or error
        if gone is not None:
            raise gone

    def _attempt_by_family(self, items: List[PlanItem]) -> List[Optional[EngineError]]:
        """Images of one family (a parent chain, PlanItem.family) one at a time, families side by side: two
        children of one parent deleted side by side race in the engine's parent pruning (seen on 20.10: a tagged
        sibling answered 404 and was counted as gone by someone else)."""
        families: Dict[str, List[int]] = {}
        for position, item in enumerate(items):
            families.setdefault(item.family or item.id, []).append(position)
        errors: List[Optional[EngineError]] = [None] * len(items)

        def remove_family(positions: List[int]) -> None:
            for position in positions:
                errors[position] = self._attempt(items[position])

        map_concurrently(remove_family, list(families.values()))
        return errors

    def _engine_answers(self) -> bool:
        return self.engine.ping()

    def _attempt(self, item: PlanItem) -> Optional[EngineError]:
        """Delete one item; the engine's error instead of raising it (this runs in a worker thread)."""
        try:
            if item.type == 'container':
                self.engine.delete('/containers/%s' % item.id, params={'v': 0, 'force': 0})
            elif item.type == 'image':
                self._remove_image(item)
            elif item.type == 'volume':
                self.engine.delete('/volumes/%s' % item.id)
            elif item.type == 'network':
                self._remove_network(item)
        except EngineError as exc:
            return exc
        return None

    def _record(self, item: PlanItem, error: Optional[EngineError]) -> None:
        if isinstance(error, _Refused):
            self._skip(item, str(error))
        elif error is None or (item.type == 'image' and item.id in self._deleted_images):
            self.outcome.removed.append(item)
        elif error.status_code == 404:
            self._skip(item, 'already gone (removed by someone else since the plan was made)')
        elif error.status_code in (403, 409):
            self._skip(item, 'in use since the plan was made: %s' % error)
        else:
            self.outcome.errors.append('%s %s: %s' % (item.type, item.id, error))

    # ------------------------------------------------------------ images
    def _remove_image(self, item: PlanItem) -> None:
        """Delete the planned image by ID, untagging first where it has several tags, and never touch an
        image or a tag that changed since the plan.

        Right before deleting, the image is read again: a tag added since the plan, or a planned tag
        that now names another image (a build or pull moved it), skips the item; the next run plans
        the host as it has become. The engine refuses
        (409) to delete an image or its last tag while a container uses it, but removes other tags
        regardless, so untagging first checks for containers itself.
        """
        if item.id in self._deleted_images:
            return  # deleted with a child removed earlier in this run
        current = self._inspect(item.id)
        if current is None:
            raise EngineAPIError(404, 'image %s: no such image' % item.id)
        tags = sorted(tag for tag in current.get('RepoTags') or [] if tag != '<none>:<none>')
        added = sorted(set(tags) - set(item.names))
        if added:
            raise _Refused('tagged %s since the plan was made' % ', '.join(added))
        lost = sorted(set(item.names) - set(tags))
        if lost:
            raise _Refused('tag %s names another image since the plan was made' % ', '.join(lost))
        if item.action == 'untag' or len(tags) > 1:
            self._refuse_if_used(item)
            for tag in tags:
                moved = self._inspect(tag)
                if moved is None or moved.get('Id') != item.id:
                    raise _Refused('tag %s names another image since the plan was made' % tag)
                self._note_deleted(self.engine.delete('/images/%s' % tag, params={'noprune': 0, 'force': 0}))
            if item.action == 'untag' or item.id in self._deleted_images:
                return
        try:
            self._note_deleted(self.engine.delete('/images/%s' % item.id, params={'noprune': 0, 'force': 0}))
        except EngineAPIError as exc:
            # Two children of one parent deleted side by side: the engine may answer 404 for the parent that
            # the other call removed first, after deleting this image. It was there a moment ago, so it is ours.
            if exc.status_code != 404 or self._inspect(item.id) is not None:
                raise
            self._deleted_images.add(item.id)

    def _inspect(self, reference: str) -> Optional[Dict[str, Any]]:
        try:
            return self.engine.get('/images/%s/json' % reference) or {}
        except EngineAPIError as exc:
            if exc.status_code == 404:
                return None
            raise

    def _note_deleted(self, answer: Any) -> None:
        """Remember every image the engine says this call deleted (the image and untagged parents)."""
        for entry in answer or []:
            if isinstance(entry, dict) and entry.get('Deleted'):
                self._deleted_images.add(entry['Deleted'])

    def _refuse_if_used(self, item: PlanItem) -> None:
        """Refuse when a container uses the image now."""
        for container in self.engine.get('/containers/json', params={'all': 1}) or []:
            if container.get('ImageID') == item.id:
                raise EngineAPIError(409, 'image %s is used by container %s' % (
                    item.id, (container.get('Names') or [container.get('Id', '?')])[0]))

    # ------------------------------------------------------------ networks
    def _remove_network(self, item: PlanItem) -> None:
        """Delete a network unless a container refers to it now.

        The engine only refuses while a running container is attached; a created or stopped container
        that names the network would lose it. The listing's ``network`` filter sees those by name.
        """
        filters = json.dumps({'network': sorted(set([item.id] + list(item.names)))})
        users = self.engine.get('/containers/json', params={'all': 1, 'filters': filters}) or []
        if users:
            names = sorted((user.get('Names') or [user.get('Id', '?')])[0].lstrip('/') for user in users)
            raise _Refused('container %s uses it since the plan was made' % ', '.join(names))
        self.engine.delete('/networks/%s' % item.id)

    # ------------------------------------------------------------ build cache
    def _prune_build_cache(self, items: List[PlanItem]) -> None:
        """Prune the records: first those of blob_watch, measured, then the others.

        A record no image holds has no child that an image holds (an image holding a child holds its parents'
        layers too), so pruning those first never keeps a record the second group needs gone.
        """
        watched = [item for item in items if item.id in self.blob_watch]
        if watched:
            layers_before, done = read_layers_size(self.engine), len(self.outcome.removed)
            self._prune_group(watched)
            pruned = sum(item.bytes for item in self.outcome.removed[done:])
            fall = layers_before - read_layers_size(self.engine)
            self.outcome.cache_blob_bytes += min(pruned, max(0, pruned - fall))
        rest = [item for item in items if item.id not in self.blob_watch]
        if rest:
            self._prune_group(rest)

    def _prune_group(self, items: List[PlanItem]) -> None:
        """Prune the records by name, up to CACHE_IDS_PER_CALL per call.

        The engine takes a single ``id`` filter value per call, which BuildKit matches as a regular
        expression: an anchored alternation of the record IDs names exactly the plan's records, and
        BuildKit then frees them children first within the one call. A record that shared its snapshot
        with an image removed just before is only released once the containerd store has collected
        that image, so records the engine kept get a few more tries.
        """
        # No keep-storage / reserved-space: the plan already keeps the reserve, and the engine would apply its own
        # (counting records images share, in its own order) and keep records the plan names.
        params: Dict[str, Any] = {'all': 1}
        pending = list(items)
        for attempt in range(CACHE_RELEASE_TRIES):
            if attempt:
                self.sleep(PRUNE_BACKOFF_SECONDS * attempt)
            kept: List[PlanItem] = []
            for start in range(0, len(pending), CACHE_IDS_PER_CALL):
                kept += self._prune_records(pending[start:start + CACHE_IDS_PER_CALL], params)
            pending = kept
            if not pending:
                return
        now = {record.id: record for record in read_build_cache(self.engine)}
        for item in pending:
            self._skip(item, _kept_reason(now.get(item.id)))

    def _prune_records(self, items: List[PlanItem], params: Dict[str, Any]) -> List[PlanItem]:
        """Prune some records in one call; the ones the engine kept.

        When the call fails (an error answer, or no answer in time while the engine still answers its
        ping), the build cache is read again: what is gone was removed by this call, the rest is
        reported as an error (left for the next run), never as removed.
        """
        call_params = dict(params, filters=json.dumps({'id': [record_id_pattern([item.id for item in items])]}))
        try:
            report = with_prune_retry(lambda: self.engine.post('/build/prune', params=call_params), self.sleep) or {}
        except EngineAPIError as exc:
            if _is_prune_running(exc):
                raise EngineError(busy_message(exc)) from exc
            self._settle_records(items, exc)
            return []
        except EngineError as exc:
            if not self._engine_answers():
                raise
            self._settle_records(items, exc)
            return []
        deleted = set(report.get('CachesDeleted') or [])
        self.outcome.removed.extend(item for item in items if item.id in deleted)
        return [item for item in items if item.id not in deleted]

    def _settle_records(self, items: List[PlanItem], error: EngineError) -> None:
        present = {record.id for record in read_build_cache(self.engine)}
        for item in items:
            if item.id in present:
                self.outcome.errors.append('build cache %s: %s' % (item.id, error))
            else:
                self.outcome.removed.append(item)


def _kept_reason(record: Optional[BuildCacheRecord]) -> str:
    """Why a planned record is still there after the prune calls named it (or that it is not)."""
    if record is None:
        return 'already gone (removed by someone else since the plan was made)'
    if record.in_use:
        return ENGINE_KEPT + ': in use since the plan was made'
    if record.shared:
        return ENGINE_KEPT + ': shared with an image since the plan was made'
    return ENGINE_KEPT + ' (the engine gave no reason)'


class _Refused(EngineError):
    """The object changed since the plan in a way that makes removing it unsafe (the item is skipped)."""


def record_id_pattern(record_ids: List[str]) -> str:
    """A regular expression (RE2, as BuildKit's filters use) matching exactly these record IDs."""
    return '^(%s)$' % '|'.join(re.escape(record_id) for record_id in record_ids)


def remaining_after(outcome: Outcome, plan: Plan) -> Optional[List[PlanItem]]:
    """Plan items that were neither removed nor skipped (an interrupted run), else None."""
    done = {(item.type, item.id) for item in outcome.removed}
    done.update((entry['type'], entry['id']) for entry in outcome.skipped)
    left = [item for item in plan.items if (item.type, item.id) not in done]
    return left or None
