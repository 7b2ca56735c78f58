"""Cost curves: one host at growing image counts, and the enforce playbook over growing fleets.

Images: per size the curve host is filled with FULL's shape at that size and saved; each repetition restores it,
runs the kept check-mode module process (result bytes, peak RSS) and then a whole prune in-process (read, plan,
apply). Fleet: per size the first N fleet hosts, restored, under playbooks/enforce.yml.
"""
import statistics
from pathlib import Path
from typing import Any, Callable

from sandbox.model import Host

from . import engine_copy, fleet_bench, inprocess, layout, module_process, warm_state
from .compare import PRUNE_POLICY
from .population import Stock
from .scale import FLEET_HOST, image_scale


def check_mode_task(host: Host) -> dict[str, Any]:
    """The check-mode prune the image curve measures as a process, reaching ``host``'s engine by the socket's real path."""
    return {"cachewarden.docker.docker_cache_prune": {**PRUNE_POLICY, "docker_host": host.docker_host}, "check_mode": True}


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _image_point(host: Host, module_file: Path) -> dict[str, float]:
    """One repetition at the size the host holds: the module process in check mode, then a whole prune in-process."""
    engine_copy.restore(host)
    process = module_process.run_timed(module_file)
    result = process.result()
    if result.get("failed"):
        raise RuntimeError(f"the check-mode module process failed: {str(result.get('msg'))[:300]}")
    options = {key: value for key, value in PRUNE_POLICY.items() if key != "state_path"}
    prune = inprocess.measure_prune(host.docker_host, options, warm_state.state_file(host))
    return {"images": prune["images"], "planned": prune["planned"], "removed": prune["removed"],
            "read_s": prune["steps"]["read"], "plan_s": prune["steps"]["plan"], "apply_s": prune["steps"]["apply"],
            "result_bytes": len(process.stdout), "max_rss_kb": process.max_rss_kb, "process_s": process.wall_s}


def image_curve(stock: Stock, host: Host, inventory: Path, sizes: list[int], reps: int,  # pylint: disable=too-many-arguments,too-many-positional-arguments
                log: Callable[[str], None]) -> list[dict[str, float]]:
    """Per image count on ``host`` (in ``inventory``), the medians of ``reps`` repetitions (see the module docstring)."""
    points = []
    module_file: Path | None = None
    for size in sizes:
        log(f"curves: {host.name} with {size} images")
        stock.populate(host, image_scale(size), restore=False)
        module_file = module_file or module_process.keep(inventory, host.name, "curve-check", check_mode_task(host))
        rows = [_image_point(host, module_file) for _rep in range(reps)]
        points.append({"size": size, **{key: _median(rows, key) for key in rows[0]}})
    return points


def fleet_curve(stock: Stock, sizes: list[int], reps: int, forks: int, log: Callable[[str], None]) -> list[dict[str, float]]:
    """Per fleet size, the medians of ``reps`` enforce runs: wall, controller CPU, the module's task."""
    points = []
    for size in sizes:
        fleet = layout.with_members(size)
        hosts = layout.members(fleet, size)
        log(f"curves: enforce over {size} hosts")
        stock.populate_many(hosts, FLEET_HOST)
        inventory = fleet_bench.write_inventory(fleet, hosts, f"curve-{size}.ini")
        rows = []
        for _rep in range(reps):
            fleet_bench.restore_all(hosts)
            run = fleet_bench.checked(fleet_bench.enforce(inventory, forks), f"enforce over {size} hosts")
            module_s, _role_s = fleet_bench.module_and_role_seconds(run)
            rows.append({"wall_s": run.wall, "controller_cpu_s": run.cpu_s, "module_task_s": module_s})
        points.append({"size": size, **{key: _median(rows, key) for key in rows[0]}})
    return points
