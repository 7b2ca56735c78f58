"""The module_utils code in this process against a real engine socket: time each step, count API calls, profile.

This is what a module does on the managed host minus Ansible's own cost (module transfer, interpreter
start, argument parsing), so it tells the engine's share of a run from ours.
"""
import cProfile
import collections
import io
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

from sandbox import paths

# This checkout as ansible_collections/cachewarden/docker (make collection), for the imports below.
sys.path.insert(0, str(paths.collections_dir()))
# pylint: disable=wrong-import-position
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.facts import cache_facts  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import POLICY_ARGUMENT_SPEC, Policy, validate_policy  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import (  # noqa: E402
    apply_plan, plan_with_fresh_tag_times, read_for, stored_detail)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Snapshot  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot  # noqa: E402
from ansible_collections.cachewarden.docker.plugins.module_utils.usage_state import fold_in, load_state, save_state  # noqa: E402

_ID = re.compile(r"/(sha256:)?[0-9a-f]{12,}|/bench-[a-z]+\d+|/[^/]+:[^/]+$")


class CountingEngine(Engine):
    """An Engine that counts its API calls by method and path shape (IDs folded to ``{id}``)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.calls: collections.Counter[str] = collections.Counter()

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, decode: bool = True) -> Any:
        self.calls[f"{method.upper()} {_ID.sub('/{id}', path)}"] += 1
        return super()._call(method, path, params, decode)


def policy_params(options: dict[str, Any]) -> dict[str, Any]:
    """Module parameters of a policy: the spec's defaults overlaid with ``options``."""
    params = {name: spec.get("default") for name, spec in POLICY_ARGUMENT_SPEC.items()}
    params.update(options)
    return params


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def read_as_the_module(engine: Engine, policy: Policy, state_file: Path) -> tuple[Snapshot, dict[str, Any]]:
    """What prune_run's ``_locked_run`` does before its plan: load the state file (missing: a cold run), read the
    engine with the per-image detail the state holds, fold the snapshot in. The snapshot and the new state."""
    state, _warning = load_state(str(state_file))
    snapshot = read_for(engine, policy, sizes=False, state=state, known=stored_detail(state, []))
    return snapshot, fold_in(state, snapshot, with_detail=False)


def measure(docker_host: str, policy_options: dict[str, Any], state_file: Path, plan_reps: int = 5) -> dict[str, Any]:
    """Seconds of connecting, reading the facts snapshot, building the facts, reading the prune snapshot
    (once each: they are the slow, engine-bound steps) and the median of ``plan_reps`` plans; API call counts.
    ``state_file`` (as the controller sees it) is the prune's state, absent for a cold read."""
    policy = validate_policy(policy_params(policy_options))
    params = {"docker_host": docker_host, "api_version": "auto", "timeout": 600}
    connect, engine = _timed(lambda: CountingEngine(params))
    facts_snapshot, snapshot = _timed(lambda: read_snapshot(engine, walk_sizes=True))
    facts_build = _timed(lambda: cache_facts(snapshot))[0]
    facts_calls = dict(engine.calls)
    engine.calls.clear()
    prune_snapshot, (snapshot, state) = _timed(lambda: read_as_the_module(engine, policy, state_file))
    plans = [_timed(lambda: make_plan(snapshot, policy, state["images"])) for _rep in range(plan_reps)]
    return {
        "connect": connect, "facts_snapshot": facts_snapshot, "facts_build": facts_build, "facts_calls": facts_calls,
        "prune_snapshot": prune_snapshot, "prune_calls": dict(engine.calls),
        "plan": statistics.median(seconds for seconds, _plan in plans), "plan_items": len(plans[-1][1].items),
        "images": len(snapshot.images),
    }


def measure_prune(docker_host: str, policy_options: dict[str, Any], state_file: Path) -> dict[str, Any]:
    """One whole prune in-process as the module makes it (it removes: run it on a restored engine): seconds and API
    calls of reading the engine with the layer detail (the state in ``state_file`` as the controller sees it, absent
    for a cold run), planning (the tag times the state cannot vouch for read again), carrying the plan out, reading
    the engine again and writing the state file."""
    policy = validate_policy(policy_params(policy_options))
    engine = CountingEngine({"docker_host": docker_host, "api_version": "auto", "timeout": 600})
    steps: dict[str, float] = {}
    calls: dict[str, dict[str, int]] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        steps[name], value = _timed(action)
        calls[name] = dict(engine.calls)
        engine.calls.clear()
        return value

    snapshot, state = step("read", lambda: read_as_the_module(engine, policy, state_file))
    plan = step("plan", lambda: plan_with_fresh_tag_times(engine, snapshot, policy, state["images"]))
    outcome = step("apply", lambda: apply_plan(engine, policy, snapshot, plan))
    after = step("read after", lambda: read_for(engine, policy, sizes=False, known=snapshot.image_detail))
    step("save state", lambda: save_state(str(state_file), fold_in(state, after)))
    return {"steps": steps, "calls": calls, "planned": len(plan.items), "removed": len(outcome.removed),
            "errors": len(outcome.errors), "images": len(snapshot.images)}


def profile(docker_host: str, policy_options: dict[str, Any], top: int = 15) -> str:
    """cProfile of one prune snapshot plus plan (check mode's work), cumulative time, top entries."""
    policy = validate_policy(policy_params(policy_options))
    engine = Engine({"docker_host": docker_host, "api_version": "auto", "timeout": 300})
    profiler = cProfile.Profile()
    profiler.enable()
    snapshot = read_for(engine, policy, sizes=False)
    make_plan(snapshot, policy, {})
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()
