"""docs/benchmarks.md from the results of one run."""
import math
from typing import Any

from .compare import Samples
from .fleet_bench import TASK_KEY


def _s(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} s"


def _ratio(value: float, reference: float) -> str:
    return "n/a" if reference <= 0 or math.isnan(value) or math.isnan(reference) else f"{value / reference:.2f}x"


def _kb(value: float) -> str:
    return f"{value / 1000:.1f} KB"


def _range(samples: Samples, key: str) -> str:
    low, high = samples.spread(key)
    return f"{low:.1f}-{high:.1f} s"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _verdict(met: bool, reason: str = "") -> str:
    return "met" if met else f"missed: {reason}" if reason else "missed"


def facts_section(samples: dict[str, Samples], reference: str, ours: str) -> tuple[list[str], list[list[str]]]:
    """Table of the facts comparison and its target rows."""
    ref = samples[reference].median("added_s")
    rows = [[name, _s(item.median("added_s")), _range(item, "added_s"), _ratio(item.median("added_s"), ref),
             _s(item.median("task_s")), _kb(item.median("result_bytes"))] for name, item in samples.items()]
    lines = _table(["task", "added over ping (median)", "(min-max)", "vs docker_host_info", "task time (median)", "result size"], rows)
    added, size = samples[ours].median("added_s"), samples[ours].median("result_bytes")
    df_cli = samples.get("docker system df -v")
    reason = "most of it is the engine's GET /system/df, see section 5"
    if df_cli is not None:
        reason = (f"most of it is the engine's GET /system/df ({_s(df_cli.median('added_s'))} for `docker system df -v`, "
                  "the same call, alone), see section 5")
    targets = [["facts: added time <= 0.5x docker_host_info", _ratio(added, ref), _verdict(added <= 0.5 * ref, reason)],
               ["facts: default result < 100 KB per host", _kb(size), _verdict(size < 100_000)]]
    return lines, targets


def prune_section(samples: dict[str, Samples], reference: str, ours: str, expected: int,
                  inproc: dict[str, Any] | None = None) -> tuple[list[str], list[list[str]]]:
    """Table of the prune comparison (and of one whole prune in-process), and its target rows."""
    ref = samples[reference].median("task_s")
    rows = [[name, _s(item.median("task_s")), _range(item, "task_s"), _ratio(item.median("task_s"), ref), _s(item.median("added_s")),
             f"{item.spread('removed')[0]:.0f}-{item.spread('removed')[1]:.0f}", _s(item.median("reseed_s"))]
            for name, item in samples.items()]
    lines = _table(["task", "task time (median)", "(min-max)", f"vs {reference}", "added over ping", "images removed (min-max)",
                    "engine restore before it"], rows)
    lines.insert(0, f"Every run starts from the same saved engine; {expected} images are unused and older than 30 days.\n")
    if inproc:
        lines += [f"One whole prune in-process, the module_utils code against the engine's socket on the same restored engine "
                  f"({inproc['planned']} planned, {inproc['removed']} removed, {inproc['errors']} errors):", ""]
        lines += _inprocess_table(inproc)
    ours_s = samples[ours].median("task_s")
    removed_ok = all(item.spread("removed") == (expected, expected) for item in samples.values())
    targets = [["prune: wall <= 1.1x docker image prune -a -f", _ratio(ours_s, ref),
                _verdict(ours_s <= 1.1 * ref, "the per-image engine reads the exact plan needs, see section 5")],
               ["prune: every contender removed exactly the same set size", str(expected), _verdict(removed_ok)]]
    return lines, targets


def planning_section(samples: dict[str, Samples], inproc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Check-mode task time plus the in-process breakdown, and the planning target row."""
    rows = [[name, _s(item.median("task_s")), _range(item, "task_s"), _s(item.median("added_s"))]
            for name, item in samples.items()]
    lines = _table(["task", "task time (median)", "(min-max)", "added over ping"], rows)
    steps = [["connect (version negotiation)", _s(inproc["connect"])],
             ["read the engine for facts (sizes on)", _s(inproc["facts_snapshot"])],
             ["build the facts from the snapshot", _s(inproc["facts_build"])],
             ["read the engine for the prune (with per-image layers)", _s(inproc["prune_snapshot"])],
             [f"plan ({inproc['images']} images -> {inproc['plan_items']} items), pure", _s(inproc["plan"])]]
    lines += ["In-process, the module_utils code against the engine's socket (each read once; the plan: median of the "
              "repetitions):", ""]
    lines += _table(["step", "time"], steps)
    calls = [[key, str(value)] for key, value in sorted(inproc["prune_calls"].items())]
    lines += ["Engine API calls of one prune snapshot:", ""] + _table(["call", "count"], calls)
    targets = [["planning at this scale < 1 s (pure planner)", _s(inproc["plan"]), _verdict(inproc["plan"] < 1.0)]]
    return lines, targets


def _inprocess_table(inproc: dict[str, Any]) -> list[str]:
    return _table(["step", "time", "engine API calls"],
                  [[name, _s(seconds), ", ".join(f"{call} x{count}" for call, count in sorted(inproc["calls"][name].items()))
                    or "none"] for name, seconds in inproc["steps"].items()])


def fleet_section(samples: dict[str, Samples], reference: str, ours: str, hosts: int,
                  inproc: dict[str, Any] | None = None) -> tuple[list[str], list[list[str]]]:
    """Table of the fleet comparison (and of one fleet host's prune in-process) and its target rows."""
    ref = samples[reference].median("wall_s")
    rows = [[name, _s(item.median("wall_s")), _range(item, "wall_s"), _ratio(item.median("wall_s"), ref),
             _s(item.median("cpu_s")), _s(item.median("controller_cpu_s")), f"{item.median('max_rss_mb'):.0f} MB",
             f"{item.spread('calls_min')[0]:.0f}-{item.spread('calls_max')[1]:.0f}", _s(item.median("reseed_s"))]
            for name, item in samples.items()]
    lines = _table(["run", f"wall over {hosts} hosts (median)", "(min-max)", "vs shell prune",
                    "CPU time of the whole machine (median)", "of it the controller's", "controller peak RSS",
                    "module calls per host (min-max)",
                    "engine restore before it (slowest host)"], rows)
    lines += [f"The CPU time of the whole machine counts every process during the run (controller, ssh, sshd, the "
              f"modules, the {hosts} engines, the kernel): at most its cores (see Machine) times the wall. The "
              f"controller's is `ansible-playbook` / `ansible` with its workers and ssh clients (`/usr/bin/time`); the "
              f"rest is what the hosts spent, which on a real fleet each host spends on its own cores.", ""]
    tasks = [[key[len(TASK_KEY):] or "(unnamed)", _s(samples[ours].median(key))]
             for key in samples[ours].values if key.startswith(TASK_KEY)]
    if tasks:
        lines += [f"Where the time of {ours} goes, task by task (first host's start to last host's end, median):", ""]
        lines += _table(["task", "time"], tasks)
    if inproc:
        lines += [f"One fleet host's prune in-process, the module_utils code against its socket on a restored engine, "
                  f"nothing else running ({inproc['planned']} planned, {inproc['removed']} removed, {inproc['errors']} "
                  f"errors):", ""] + _inprocess_table(inproc)
    wall, calls = samples[ours].median("wall_s"), samples[ours].spread("calls_max")[1]
    targets = [["fleet: <= 2 module calls per host", f"{calls:.0f}", _verdict(calls <= 2)],
               ["fleet: wall within 1.5x the shell prune", _ratio(wall, ref),
                _verdict(wall <= 1.5 * ref, "see the task table above and section 5")]]
    return lines, targets


def render(results: dict[str, Any], sections: list[tuple[str, list[str]]], targets: list[list[str]], notes: list[str]) -> str:
    """The whole page."""
    machine, engine, population = results["machine"], results["engine"], results["population"]
    lines = ["# Benchmarks", "",
             "Written by `make bench` (benchmarks/, not part of `make test`); the figures below are the ones that run printed.", "",
             "## Machine and engine", ""]
    lines += _table(["", ""], [[key, str(value)] for key, value in {**machine, **engine}.items()])
    lines += ["## Population", ""]
    lines += _table(["what", "count"], [[key, str(value)] for key, value in population["counts"].items()])
    lines += _table(["step", "time"], [[key, _s(value)] for key, value in population["timings"].items()])
    lines += ["## Targets", ""] + _table(["target", "measured", "verdict"], targets)
    for title, body in sections:
        lines += [f"## {title}", ""] + body
    lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    lines += ["## How to reproduce", "",
              "    make bench                        # full scale (Docker 28.5, overlay2), writes this page",
              "    make bench BENCH_QUICK=1          # a tenth of the scale, to try the harness",
              "    make bench BENCH_REPS=3 BENCH_ARGS=\"--prune-reps 2 --fleet-reps 2\"",
              "", f"This page: {_settings_line(results['settings'])}.", ""]
    return "\n".join(lines)


def _settings_line(settings: dict[str, Any]) -> str:
    return (f"{settings['reps']} repetitions of the facts and planning comparisons, {settings['prune_reps']} of the prune "
            f"comparison, {settings['fleet_reps']} of the fleet comparison over {settings['hosts']} hosts "
            f"(forks {settings['forks']})")


def method_notes(machine: dict[str, Any], reused: bool) -> list[str]:
    """How the figures were taken, stated once on the page."""
    notes = [
        "Task times come from the `ansible.posix.json` callback (per-task start and end). \"Added over ping\" is a task's time "
        "minus that of an `ansible.builtin.ping` task in the same play, run after a first ping has opened the SSH connection; "
        "pipelining is on, as in the integration tests.",
        "Each repetition runs every contender once, the order rotated from one repetition to the next; the tables give "
        "medians. Peak memory is `Maximum resident set size` from `/usr/bin/time -v` (the largest single controller process).",
        f"Load average {machine.get('load average at start', '?')} at the start, "
        f"{machine.get('load average at end', '?')} at the end, on {machine.get('CPU', '?')}. The sandbox hosts run on "
        "this machine: their engines, sshd and the modules' Python share its cores with the controller (the 25-host "
        "fleet itself raises the load), where a real fleet runs them on each host. Alternating repetitions keep the "
        "ratios fair.",
    ]
    if reused:
        notes.append("The population figures are those recorded when this engine was populated (same code); this run restored "
                     "the engine from the copy saved then (`--reuse`).")
    return notes


def prune_analysis(inproc: dict[str, Any], prune: dict[str, Samples], plan: dict[str, Samples], ours: str,
                   reference: str) -> list[str]:
    """Where the prune's time goes: the engine's per-image answers vs our own work (from the in-process prune)."""
    steps, calls = inproc["steps"], inproc["calls"]
    per_image_reads = sum(count for call, count in calls["read"].items() if "/images/{id}/" in call)
    return [
        f"Where {ours}'s time goes (the in-process prune above): reading the engine with the per-image layer detail "
        f"took {steps['read']:.2f} s for {sum(calls['read'].values())} API calls ({per_image_reads} of them per image: an "
        f"inspect each, and a history per distinct layer stack), planning {steps['plan']:.2f} s, carrying the plan out "
        f"{steps['apply']:.2f} s ({sum(calls['apply'].values())} calls, 8 in flight) and reading the engine again "
        f"{steps['read after']:.2f} s. The check-mode task, which makes the same reads, took "
        f"{min(item.median('added_s') for item in plan.values()):.1f} s added over ping (median of the repetitions).",
        f"{reference} does no prediction and no per-image reads: it walks the image store inside the engine in one call "
        f"({prune[reference].median('added_s'):.1f} s added over ping here).",
    ]
