"""Section 3: check-mode planning through Ansible, and its steps in-process."""
from typing import Any

from .compare import Samples
from .markdown import seconds, spread, table, verdict


def planning_section(samples: dict[str, Samples], inproc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Check-mode task time plus the in-process breakdown, and the planning target row."""
    rows = [[name, seconds(item.median("task_s")), spread(item, "task_s"), seconds(item.median("added_s"))]
            for name, item in samples.items()]
    lines = table(["task", "task time (median)", "(min-max)", "added over ping"], rows)
    steps = [["connect (version negotiation)", seconds(inproc["connect"])],
             ["read the engine for facts (sizes on)", seconds(inproc["facts_snapshot"])],
             ["build the facts from the snapshot", seconds(inproc["facts_build"])],
             ["read the engine for the prune (with per-image layers, no state file)", seconds(inproc["prune_snapshot"])],
             [f"plan ({inproc['images']} images -> {inproc['plan_items']} items), pure", seconds(inproc["plan"])]]
    lines += ["In-process, the module_utils code against the engine's socket (each read once; the plan: median of the "
              "repetitions):", ""]
    lines += table(["step", "time"], steps)
    calls = [[key, str(value)] for key, value in sorted(inproc["prune_calls"].items())]
    lines += ["Engine API calls of one prune snapshot:", ""] + table(["call", "count"], calls)
    targets = [["planning at this scale < 1 s (pure planner)", seconds(inproc["plan"]), verdict(inproc["plan"] < 1.0)]]
    return lines, targets
