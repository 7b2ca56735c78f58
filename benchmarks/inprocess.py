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
import time
from typing import Any, Callable

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor
from ansible_collections.cachewarden.docker.plugins.module_utils.facts import cache_facts
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import POLICY_ARGUMENT_SPEC, validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import read_for
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot

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


def measure(docker_host: str, policy_options: dict[str, Any], plan_reps: int = 5) -> dict[str, Any]:
    """Seconds of connecting, reading the facts snapshot, building the facts, reading the prune snapshot
    (once each: they are the slow, engine-bound steps) and the median of ``plan_reps`` plans; API call counts."""
    policy = validate_policy(policy_params(policy_options))
    params = {"docker_host": docker_host, "api_version": "auto", "timeout": 600}
    connect, engine = _timed(lambda: CountingEngine(params))
    facts_snapshot, snapshot = _timed(lambda: read_snapshot(engine, walk_sizes=True))
    facts_build = _timed(lambda: cache_facts(snapshot))[0]
    facts_calls = dict(engine.calls)
    engine.calls.clear()
    prune_snapshot, snapshot = _timed(lambda: read_for(engine, policy, sizes=False))
    plans = [_timed(lambda: make_plan(snapshot, policy, {})) for _rep in range(plan_reps)]
    return {
        "connect": connect, "facts_snapshot": facts_snapshot, "facts_build": facts_build, "facts_calls": facts_calls,
        "prune_snapshot": prune_snapshot, "prune_calls": dict(engine.calls),
        "plan": statistics.median(seconds for seconds, _plan in plans), "plan_items": len(plans[-1][1].items),
        "images": len(snapshot.images),
    }


def measure_prune(docker_host: str, policy_options: dict[str, Any]) -> dict[str, Any]:
    """One whole prune in-process (it removes: run it on a restored engine): seconds and API calls of reading the
    engine with the layer detail, planning, carrying the plan out and reading the engine again."""
    policy = validate_policy(policy_params(policy_options))
    engine = CountingEngine({"docker_host": docker_host, "api_version": "auto", "timeout": 600})
    sizes = policy.sizes_needed
    steps: dict[str, float] = {}
    calls: dict[str, dict[str, int]] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        steps[name], value = _timed(action)
        calls[name] = dict(engine.calls)
        engine.calls.clear()
        return value

    snapshot = step("read", lambda: read_for(engine, policy, sizes=False))
    plan = step("plan", lambda: make_plan(snapshot, policy, {}))
    outcome = step("apply", lambda: Executor(engine, policy).run(plan))
    step("read after", lambda: read_snapshot(engine, walk_sizes=sizes))
    return {"steps": steps, "calls": calls, "planned": len(plan.items), "removed": len(outcome.removed),
            "errors": len(outcome.errors)}


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
