# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole prune of one host: lock -> snapshot -> plan -> apply -> snapshot again -> result.

The module is a thin shell over ``run_prune``: it maps the outcome to exit_json / fail_json.
Check mode stops after the plan and changes nothing on the host (no state file, no lock file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import ENGINE_KEPT, Executor, Outcome, remaining_after
from ansible_collections.cachewarden.docker.plugins.module_utils.cache_plan import takes_released
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import DETAIL_KEY, DetailCache, from_state
from ansible_collections.cachewarden.docker.plugins.module_utils.image_plan import tag_times_matter
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import Policy, policy_summary
from ansible_collections.cachewarden.docker.plugins.module_utils.result import prune_result
from ansible_collections.cachewarden.docker.plugins.module_utils.run_lock import EngineLock, LockTimeout, lock_path
from ansible_collections.cachewarden.docker.plugins.module_utils.records import BuildCacheRecord, Snapshot
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import (
    read_build_cache, read_layers_size, read_snapshot, refresh_tag_times)
from ansible_collections.cachewarden.docker.plugins.module_utils.usage_state import (
    events_since, fold_in, load_state, save_state)


# Second looks at the build cache after the plan ran (see _prune_released_cache).
RELEASE_ROUNDS = 5
# How the run names the records the removed images set free that the plan did not hold.
RELEASED_REASON = 'released by the images this run removed'


@dataclass
class PruneRun:
    """What the module returns: ``failed`` set means fail_json with ``result`` as its data."""

    result: Dict[str, Any] = field(default_factory=dict)
    failed: Optional[str] = None
    warnings: List[str] = field(default_factory=list)


def read_for(engine: Engine, policy: Policy, sizes: bool, state: Optional[Dict[str, Any]] = None,
             known: Optional[DetailCache] = None) -> Snapshot:
    """The snapshot a prune with this policy needs (the layer detail only when images are a target; the
    entries of ``known`` spare the per-image reads of the images they name)."""
    return read_snapshot(engine, walk_sizes=sizes or policy.sizes_needed, image_detail=policy.images != 'none',
                         events_since=events_since(state, int(time.time())) if state is not None else None,
                         stop_times=policy.containers, known=known)


def stored_detail(state: Dict[str, Any], warnings: List[str]) -> Optional[DetailCache]:
    """The per-image detail a previous run left in the state; a section that does not parse is only a warning
    (the images are read from the engine, and the next real run writes it again)."""
    raw = state.get(DETAIL_KEY)
    cache = from_state(raw)
    if raw is not None and cache is None:
        warnings.append('the per-image detail in the state file has an unknown layout: every image is read from the '
                        'engine, and the file will be rewritten')
    return cache


def plan_with_fresh_tag_times(engine: Engine, snapshot: Snapshot, policy: Policy, last_used: Dict[str, int]) -> Plan:
    """The plan, where every image it removes by last use has its tag time read now.

    A tag time from the previous run's entry can only be older than the engine's (tagging moves it
    forward), so such an image looks less recently used than it is: where the policy orders by last use,
    the images the plan would take with an entry's tag time are read again and the plan made again, until
    none is left. The images it keeps cannot change it: a newer time only keeps them more.
    """
    while True:
        plan = make_plan(snapshot, policy, last_used)
        stale = [] if not tag_times_matter(policy) else sorted(
            {item.id for item in plan.items if item.type == 'image'} & snapshot.cached_tag_times)
        if not stale:
            return plan
        refresh_tag_times(engine, snapshot, stale)


def run_prune(engine: Engine, policy: Policy, check_mode: bool, sizes: bool = False,
              lock_timeout: float = 600) -> PruneRun:
    """One prune of the engine, under its run lock (shared in check mode, exclusive otherwise)."""
    run = PruneRun()
    try:
        path = lock_path(policy.state_path, str(engine.info().get('ID') or engine.docker_host))
        with EngineLock(path, lock_timeout, exclusive=not check_mode):
            _locked_run(engine, policy, check_mode, sizes, run)
    except LockTimeout as exc:
        run.failed = str(exc)
    except EngineError as exc:
        run.failed = run.failed or str(exc)
    except OSError as exc:  # the lock file's folder cannot be made or opened
        run.failed = 'cannot take the run lock of this engine under %s: %s' % (policy.state_path, exc)
    return run


def _locked_run(engine: Engine, policy: Policy, check_mode: bool, sizes: bool, run: PruneRun) -> None:
    state, warning = load_state(policy.state_path)
    if warning:
        run.warnings.append(warning)
    before = read_for(engine, policy, sizes, state, known=stored_detail(state, run.warnings))
    state = fold_in(state, before, with_detail=False)  # the detail is written from the snapshot after the run
    plan = plan_with_fresh_tag_times(engine, before, policy, state['images'])
    run.warnings.extend(plan.warnings)
    summary = policy_summary(policy)
    if policy.max_deletions is not None and len(plan.items) > policy.max_deletions:
        run.failed = ('max_deletions=%d: the plan holds %d items; nothing was removed'
                      % (policy.max_deletions, len(plan.items)))
        run.result = prune_result(plan, None, before, None, summary, refused=True)
        return
    if check_mode:
        run.result = prune_result(plan, None, before, None, summary, set_facts=True)
        return
    outcome = apply_plan(engine, policy, before, plan)
    if outcome.interrupted:
        _settle_interrupted(engine, plan, outcome)
        run.failed = ('the run stopped after %d of %d plan items were removed; rerun to finish the plan (see '
                      'not_done): %s' % (len(outcome.removed), len(plan.items), outcome.interrupted))
        run.result = prune_result(plan, outcome, before, None, summary)
        return
    try:
        after = read_for(engine, policy, sizes, known=before.image_detail)
    except EngineError as exc:
        run.failed = 'removed %d items, then could not read the engine again: %s' % (len(outcome.removed), exc)
        run.result = prune_result(plan, outcome, before, None, summary)
        return
    warning = save_state(policy.state_path, fold_in(state, after))
    if warning:
        run.warnings.append(warning)
    run.result = prune_result(plan, outcome, before, after, summary, set_facts=True)


def apply_plan(engine: Engine, policy: Policy, before: Snapshot, plan: Plan) -> Outcome:
    """Carry the plan out, then prune the build cache records its images set free (_prune_released_cache)."""
    executor = Executor(engine, policy, blob_watch=frozenset(
        record.id for record in before.build_cache if not record.shared) if before.engine.image_store == 'containerd'
        else frozenset())
    outcome = executor.run(plan)
    if not outcome.interrupted:
        _prune_released_cache(engine, executor, before, plan, policy)
    return outcome


def _prune_released_cache(engine: Engine, executor: Executor, before: Snapshot, plan: Plan, policy: Policy) -> None:
    """Prune the build cache records the removed images set free (released_cache), looking again after each
    prune: a record is only free once the records built on it are gone (BuildKit keeps it for them), and from
    Docker 26.1 the API shows no record parents to plan that order. Planned records the engine kept are named
    again with the records released after them, which may be what held them. A few rounds at most."""
    outcome = executor.outcome
    planned = {item.id: item for item in plan.items if item.type == 'build_cache'}
    for _round in range(RELEASE_ROUNDS):
        tried = {item.id for item in outcome.removed} | {entry['id'] for entry in outcome.skipped}
        released = [item for item in released_cache(before, plan, outcome, policy, read_build_cache(engine))
                    if item.id not in tried]
        if not released:
            return
        kept = {entry['id'] for entry in outcome.skipped if entry['type'] == 'build_cache'
                and entry['id'] in planned and entry['reason'].startswith(ENGINE_KEPT)}
        outcome.skipped[:] = [entry for entry in outcome.skipped
                              if entry['type'] != 'build_cache' or entry['id'] not in kept]
        _prune_measured(engine, executor, released, before.engine.image_store == 'containerd')
        if kept and not outcome.interrupted:
            executor.prune_released([planned[record_id] for record_id in sorted(kept)])
        if outcome.interrupted:
            return


def _prune_measured(engine: Engine, executor: Executor, released: List[PlanItem], containerd_store: bool) -> None:
    """Prune records released outside the plan and add what they freed among image layers to the outcome's
    released_image_bytes: on graphdriver stores a record is its layer (its size); on the containerd store its
    snapshot, while its blob left the image row with the image (the fall of LayersSize around the prune)."""
    done = len(executor.outcome.removed)
    layers_before = read_layers_size(engine) if containerd_store else 0
    executor.prune_released(released)
    gone = executor.outcome.removed[done:]
    if not containerd_store:
        executor.outcome.released_image_bytes += sum(item.bytes for item in gone)
    elif gone and not executor.outcome.interrupted:
        fall = layers_before - read_layers_size(engine)
        executor.outcome.released_image_bytes += min(max(fall, 0), sum(item.bytes for item in gone))


def released_cache(before: Snapshot, plan: Plan, outcome: Outcome, policy: Policy,
                   now: List[BuildCacheRecord]) -> List[PlanItem]:
    """Build cache records that the images this run removed held, now free for the same policy. Pure.

    BuildKit marks a record shared while an image holds its layers, and the engine's prune never takes a
    shared record. Which image holds which record the API does not say (docs/prune.md), so the plan can
    only predict these records; the run reads the build cache again after the images went and prunes the
    records that were shared before, are free now and that the policy's build-cache rules select, so the
    run converges at once instead of leaving them to the next night (under a budget too: the layers
    they hold are only freed with them). A reserve chose what to keep, so it takes nothing more.
    """
    if not any(item.type == 'image' for item in outcome.removed):
        return []
    was_shared = {record.id for record in before.build_cache if record.shared}
    handled = {item.id for item in plan.items if item.type == 'build_cache'}
    listed = {item.id for item in plan.may_release}
    released = []
    for record in now:
        if record.id not in was_shared or record.id in handled or record.shared:
            continue
        if not takes_released(record, policy, before.taken_at):
            continue
        why = 'listed by the plan as may go' if record.id in listed else 'shared with them before'
        released.append(PlanItem('build_cache', record.id, [record.description], record.size,
                                 '%s (%s)' % (RELEASED_REASON, why)))
    return released


def _settle_interrupted(engine: Engine, plan: Plan, outcome: Outcome) -> None:
    """After the engine stopped answering, read what is really gone: an item whose delete was under way may
    have been carried out. Items still unconfirmed stay in not_done; if the engine is still away, all do."""
    left = remaining_after(outcome, plan)
    if not left:
        return
    try:
        now = read_snapshot(engine, walk_sizes=False)
    except EngineError:
        return
    present = {('container', c.id) for c in now.containers}
    present.update(('image', i.id) for i in now.images)
    present.update(('volume', v.name) for v in now.volumes)
    present.update(('network', n.id) for n in now.networks)
    present.update(('build_cache', r.id) for r in now.build_cache)
    outcome.removed.extend(item for item in left if item.action == 'remove' and (item.type, item.id) not in present)
