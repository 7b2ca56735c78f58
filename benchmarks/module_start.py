"""The module's start: from its process starting to its first engine call, and the imports it pays for.

docker_cache_facts against a socket that does not exist fails at its first engine call, so its task time
minus an ``ansible.builtin.ping`` task's in the same play is what the module costs before it reaches the
engine. The kept AnsiballZ file of that run, run again under ``python -X importtime``, tells the imports.
"""
import dataclasses
import re
import statistics
from pathlib import Path
from typing import Any

from . import ansible_run, importtime, module_process
from .compare import SUBJECT, Samples, rotated, task_playbook

NO_ENGINE = "unix:///nonexistent.sock"
OURS = "cachewarden.docker.docker_cache_facts"
CONTENDERS: dict[str, dict[str, Any]] = {
    OURS: {OURS: {"docker_host": NO_ENGINE}, "ignore_errors": True},
    "community.docker.docker_host_info": {"community.docker.docker_host_info": {"docker_host": NO_ENGINE}, "ignore_errors": True},
}
TOP_IMPORTS = 6
# How each module says it could not reach the socket (ours names it; the peer passes on the SDK's error).
AT_ENGINE = re.compile(r"nonexistent\.sock|No such file or directory")


def _failed_at_engine(run: ansible_run.Run, host: str, name: str) -> ansible_run.Run:
    """``run`` when its subject failed reaching the engine (and not, say, on its arguments)."""
    result = run.result(SUBJECT, host) if run.output else {}
    if run.returncode != 0 or not result.get("failed") or not AT_ENGINE.search(str(result.get("msg", ""))):
        raise RuntimeError(f"{name} against {NO_ENGINE}: expected a failure at the engine, got rc {run.returncode}: "
                           f"{str(result.get('msg', ''))[:300] or run.stderr[-1500:]}")
    return run


def start_times(inventory: Path, host: str, reps: int) -> dict[str, Samples]:
    """Task time, ping time and their difference per contender, ``reps`` times in rotated order."""
    playbooks = {name: task_playbook(f"start-{index}", host, task) for index, (name, task) in enumerate(CONTENDERS.items())}
    samples = {name: Samples() for name in CONTENDERS}
    for rep in range(reps):
        for name in rotated(list(CONTENDERS), rep):
            run = _failed_at_engine(ansible_run.playbook(inventory, playbooks[name]), host, name)
            task_s, ping_s = run.task_seconds(SUBJECT), run.task_seconds("ping")
            samples[name].add(task_s=task_s, ping_s=ping_s, added_s=task_s - ping_s)
    return samples


def imports(inventory: Path, host: str, reps: int) -> dict[str, Any]:
    """The module process alone and ping's (wall, medians of ``reps``, alternating), and the module's imports (the
    ``-X importtime`` run of median total)."""
    path = module_process.keep(inventory, host, "start", CONTENDERS[OURS])
    ping = module_process.keep(inventory, host, "start-ping", {"ansible.builtin.ping": {}})
    walls = [(module_process.run_timed(path).wall_s, module_process.run_timed(ping).wall_s) for _rep in range(reps)]
    runs = sorted((importtime.parse(module_process.import_times(path)) for _rep in range(reps)), key=importtime.total_us)
    every = runs[len(runs) // 2]
    of_module = [item for item in every if "_ansiballz" not in item.name]  # AnsiballZ's own loader: in the total only
    return {
        "process_s": statistics.median(ours for ours, _ping in walls),
        "ping_process_s": statistics.median(ping_s for _ours, ping_s in walls), "imports_us": importtime.total_us(every), "import_count": len(every),
        "top": [dataclasses.asdict(item) for item in importtime.top(of_module, TOP_IMPORTS)],
        "packages": dict(list(importtime.by_package(every).items())[:TOP_IMPORTS]),
    }
