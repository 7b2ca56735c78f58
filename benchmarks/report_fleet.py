"""Section 4: playbooks/enforce.yml over the fleet against an ad hoc shell prune."""
from typing import Any

from .compare import Samples
from .fleet_bench import ENFORCE_NAME, ROLE_TASK_PREFIX, SHELL_NAME, TASK_KEY
from .markdown import FINDINGS_SECTION, ratio, seconds, spread, table, verdict
from .report_prune import inprocess_table


def _comparison_table(samples: dict[str, Samples], hosts: int) -> list[str]:
    ref = samples[SHELL_NAME].median("wall_s")
    rows = [[name, seconds(item.median("wall_s")), spread(item, "wall_s"), ratio(item.median("wall_s"), ref),
             seconds(item.median("cpu_s")), seconds(item.median("controller_cpu_s")), f"{item.median('max_rss_mb'):.0f} MB",
             f"{item.spread('calls_min')[0]:.0f}-{item.spread('calls_max')[1]:.0f}", seconds(item.median("reseed_s"))]
            for name, item in samples.items()]
    return table(["run", f"wall over {hosts} hosts (median)", "(min-max)", "vs shell prune",
                  "CPU time of the whole machine (median)", "of it the controller's", "controller peak RSS",
                  "module calls per host (min-max)", "engine restore before it (slowest host)"], rows)


def _role_overhead(ours: Samples) -> tuple[float, float]:
    """The role's tasks other than the module call, and the run's wall (medians)."""
    return ours.median("role_overhead_s"), ours.median("wall_s")


def fleet_section(samples: dict[str, Samples], hosts: int, inproc: dict[str, Any] | None) -> tuple[list[str], list[list[str]]]:
    """Table of the fleet comparison, the task table with the role's overhead, one host's prune in-process; target rows."""
    lines = _comparison_table(samples, hosts)
    lines += [f"The CPU time of the whole machine counts every process during the run (controller, ssh, sshd, the "
              f"modules, the {hosts} engines, the kernel): at most its cores (see Machine) times the wall. The "
              f"controller's is `ansible-playbook` / `ansible` with its workers and ssh clients (`/usr/bin/time`); the "
              f"rest is what the hosts spent, which on a real fleet each host spends on its own cores.", ""]
    ours = samples[ENFORCE_NAME]
    tasks = [[key[len(TASK_KEY):] or "(unnamed)", seconds(ours.median(key))] for key in ours.values if key.startswith(TASK_KEY)]
    lines += [f"Where the time of {ENFORCE_NAME} goes, task by task (first host's start to last host's end, median):", ""]
    lines += table(["task", "time"], tasks)
    overhead, wall = _role_overhead(ours)
    share = 100 * overhead / wall
    lines += [f"role overhead: {overhead:.2f} s of {wall:.2f} s ({share:.1f} %): the tasks of the role (`{ROLE_TASK_PREFIX.strip(' :')}`, "
              f"its argument check included) other than the module call ({ours.median('module_task_s'):.2f} s), against "
              "the run's wall.", ""]
    if inproc:
        lines += [f"One fleet host's prune in-process, the module_utils code against its socket on a restored engine, "
                  f"nothing else running ({inproc['planned']} planned, {inproc['removed']} removed, {inproc['errors']} "
                  f"errors):", ""] + inprocess_table({"cold": inproc})
    ref, calls = samples[SHELL_NAME].median("wall_s"), ours.spread("calls_max")[1]
    targets = [["fleet: <= 2 module calls per host", f"{calls:.0f}", verdict(calls <= 2)],
               ["fleet: wall within 1.5x the shell prune", ratio(ours.median("wall_s"), ref),
                verdict(ours.median("wall_s") <= 1.5 * ref, f"see the task table above and {FINDINGS_SECTION}")],
               ["fleet: role overhead <= 10 % of the run", f"{share:.1f} %", verdict(share <= 10)]]
    return lines, targets
