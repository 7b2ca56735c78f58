"""The side-by-side comparisons: each repetition runs every contender once, in a rotated order."""
import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any, Callable

from . import ansible_run
from .warm_state import STATE_PATH

# Facts: cachewarden's default result vs everything docker_host_info can list vs the CLI's verbose df.
FACTS_CONTENDERS: dict[str, dict[str, Any]] = {
    "cachewarden.docker.docker_cache_facts": {"cachewarden.docker.docker_cache_facts": {}},
    "community.docker.docker_host_info": {"community.docker.docker_host_info": {
        "containers": True, "containers_all": True, "images": True, "networks": True, "volumes": True,
        "disk_usage": True, "verbose_output": True}},
    "docker system df -v": {"ansible.builtin.command": {"argv": ["docker", "system", "df", "-v"]}},
}

# Prune: the same set (unused images created more than 30 days ago) three ways; ours without a state file (cold)
# and with the one a previous run on the same engine content wrote (warm, see warm_state.py).
PRUNE_POLICY: dict[str, Any] = {"images": "unused", "older_than": "30d", "age_basis": "created", "max_deletions": 100000,
                                "state_path": STATE_PATH}
OURS_COLD, OURS_WARM = "cachewarden.docker.docker_cache_prune (cold)", "cachewarden.docker.docker_cache_prune (warm)"
PRUNE_CLI, PRUNE_PEER = "docker image prune -a -f", "community.docker.docker_prune"
PRUNE_CONTENDERS: dict[str, dict[str, Any]] = {
    OURS_COLD: {"cachewarden.docker.docker_cache_prune": PRUNE_POLICY},
    OURS_WARM: {"cachewarden.docker.docker_cache_prune": PRUNE_POLICY},
    PRUNE_CLI: {"ansible.builtin.command": {
        "argv": ["docker", "image", "prune", "-a", "-f", "--filter", "until=720h"]}},
    PRUNE_PEER: {"community.docker.docker_prune": {
        "images": True, "images_filters": {"dangling": False, "until": "720h"}}},
}
PLAN_CONTENDERS: dict[str, dict[str, Any]] = {
    "cachewarden.docker.docker_cache_prune (check mode)": {
        "cachewarden.docker.docker_cache_prune": PRUNE_POLICY, "check_mode": True},
}

# Fleet: what `docker system prune -af` removes, as the role's variables (its inventory interface, here
# passed with -e): no age limit, no base-image protection, no cap that could stop the run.
FLEET_POLICY: dict[str, Any] = {
    "cache_policy_containers": True, "cache_policy_images": "unused", "cache_policy_networks": True,
    "cache_policy_build_cache": "all", "cache_policy_protect_base_images": False, "cache_policy_older_than": None,
    "cache_policy_max_deletions": 100000, "cache_policy_state_path": STATE_PATH}
SUBJECT = "subject"


def fleet_module_options() -> dict[str, Any]:
    """FLEET_POLICY as docker_cache_prune options (what the role passes), without the state file."""
    prefix = "cache_policy_"
    return {key[len(prefix):]: value for key, value in FLEET_POLICY.items()
            if value is not None and key != prefix + "state_path"}


def rotated(names: list[str], rep: int) -> list[str]:
    """``names`` starting at position ``rep`` (so no contender always runs first)."""
    shift = rep % len(names)
    return names[shift:] + names[:shift]


@dataclasses.dataclass
class Samples:
    """Measurements of one contender over the repetitions."""

    values: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def add(self, **measures: float) -> None:
        """Append one repetition's measures."""
        for key, value in measures.items():
            self.values.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        """Median of ``key`` (NaN when never measured)."""
        found = self.values.get(key) or []
        return statistics.median(found) if found else float("nan")

    def spread(self, key: str) -> tuple[float, float]:
        """Smallest and largest value of ``key``."""
        found = self.values.get(key) or [float("nan")]
        return min(found), max(found)


def task_playbook(name: str, host: str, task: dict[str, Any]) -> Path:
    """A play on ``host``: ping (opens the connection), ping (the reference), then the contender's task."""
    subject = {"name": SUBJECT, **task}
    return ansible_run.write_playbook(name, [{
        "name": name, "hosts": host, "gather_facts": False,
        "tasks": [{"name": "warm", "ansible.builtin.ping": {}}, {"name": "ping", "ansible.builtin.ping": {}}, subject],
    }])


def _checked(run: ansible_run.Run, what: str) -> ansible_run.Run:
    failures = run.failures()
    if run.returncode != 0 or failures or not run.output:
        raise RuntimeError(f"{what} failed (rc {run.returncode}): {'; '.join(failures) or run.stderr[-1500:]}")
    return run


def task_comparison(inventory: Path, host: str, contenders: dict[str, dict[str, Any]], reps: int,
                    before_each: Callable[[str], float] | None = None,
                    after_each: Callable[[str, ansible_run.Run], dict[str, float]] | None = None) -> dict[str, Samples]:
    """Run every contender's playbook once per repetition in rotated order; collect task times and result sizes.

    ``before_each`` (e.g. restoring the engine) runs before every playbook with the contender's name and returns its
    seconds; ``after_each`` adds measures.
    """
    playbooks = {name: task_playbook(f"bench-{index}", host, task) for index, (name, task) in enumerate(contenders.items())}
    samples = {name: Samples() for name in contenders}
    for rep in range(reps):
        for name in rotated(list(contenders), rep):
            extra = {"reseed_s": before_each(name)} if before_each else {}
            run = _checked(ansible_run.playbook(inventory, playbooks[name]), name)
            task_s, ping_s = run.task_seconds(SUBJECT), run.task_seconds("ping")
            samples[name].add(task_s=task_s, ping_s=ping_s, added_s=task_s - ping_s,
                              result_bytes=len(json.dumps(run.result(SUBJECT, host))), **extra,
                              **(after_each(name, run) if after_each else {}))
    return samples
