"""Fleet comparison: the enforce playbook over N sandbox hosts vs an ad hoc ``docker system prune -af``."""
import concurrent.futures
import dataclasses
import os
from pathlib import Path
from typing import Any, Callable

from sandbox import inventory as sandbox_inventory
from sandbox.model import Fleet, Host

from . import ansible_run, engine_copy
from .compare import FLEET_POLICY, Samples, rotated

GROUP = "fleet"
ENFORCE = ansible_run.REPO / "playbooks" / "enforce.yml"
ENFORCE_NAME = "playbooks/enforce.yml (cachewarden.docker.cache_policy)"
SHELL_NAME = "ad hoc shell: docker system prune -af"
TASK_KEY = "task: "  # Samples keys of per-task durations (first host start to last host end)
ROLE_TASK_PREFIX = "cachewarden.docker.cache_policy : "
MODULE = "cachewarden.docker.docker_cache_prune"


def machine_cpu_seconds() -> float:
    """CPU time every process of this machine has used so far (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def _each(hosts: list[Host], action: Callable[[Host], Any], workers: int) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(action, hosts))


def write_inventory(fleet: Fleet, hosts: list[Host], name: str = "fleet.ini") -> Path:
    """An inventory holding only ``hosts``, in group ``fleet``."""
    subset = dataclasses.replace(fleet, hosts={host.name: host for host in hosts})
    path = ansible_run.WORK / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sandbox_inventory.render(subset, GROUP), encoding="utf-8")
    return path


def restore_all(hosts: list[Host], workers: int = 5) -> float:
    """Every host's engine restored from its saved copy; the seconds of the slowest."""
    return max(_each(hosts, engine_copy.restore, workers))


def enforce(inventory: Path, forks: int) -> ansible_run.Run:
    """playbooks/enforce.yml over the group, with the policy that matches ``docker system prune -af``."""
    return ansible_run.playbook(inventory, ENFORCE, extra_vars={"cachewarden_hosts": GROUP, **FLEET_POLICY}, forks=forks)


def checked(run: ansible_run.Run, name: str) -> ansible_run.Run:
    """``run`` when nothing failed."""
    failures = run.failures()
    if run.returncode != 0 or failures:
        raise RuntimeError(f"{name} failed (rc {run.returncode}): {'; '.join(failures[:5]) or run.stderr[-1500:]}")
    return run


def module_and_role_seconds(run: ansible_run.Run) -> tuple[float, float]:
    """Seconds of the module's task and of the role's other tasks (each first host start to last host end)."""
    module_tasks = run.task_names_of(MODULE)
    durations = run.task_durations()
    module = sum(durations[name] for name in module_tasks)
    role = sum(seconds for name, seconds in durations.items() if name.startswith(ROLE_TASK_PREFIX) and name not in module_tasks)
    return module, role


def compare(inventory: Path, hosts: list[Host], reps: int, forks: int) -> dict[str, Samples]:
    """Per repetition, in rotated order: restore every host, run one contender; wall, peak RSS, module calls per host."""
    contenders: dict[str, Callable[[], ansible_run.Run]] = {
        ENFORCE_NAME: lambda: enforce(inventory, forks),
        SHELL_NAME:
            lambda: ansible_run.adhoc(inventory, GROUP, "ansible.builtin.shell", "docker system prune -af", forks=forks),
    }
    samples = {name: Samples() for name in contenders}
    for rep in range(reps):
        for name in rotated(list(contenders), rep):
            reseed = restore_all(hosts)
            cpu_before = machine_cpu_seconds()
            run = checked(contenders[name](), name)
            cpu = machine_cpu_seconds() - cpu_before
            calls = run.module_calls()
            module_s, role_s = module_and_role_seconds(run)
            samples[name].add(wall_s=run.wall, max_rss_mb=run.max_rss_kb / 1024, reseed_s=reseed, cpu_s=cpu, controller_cpu_s=run.cpu_s,
                              calls_max=max(calls.get(host.name, 0) for host in hosts),
                              calls_min=min(calls.get(host.name, 0) for host in hosts), module_task_s=module_s, role_overhead_s=role_s,
                              **{TASK_KEY + task: seconds for task, seconds in run.task_durations().items()})
    return samples
