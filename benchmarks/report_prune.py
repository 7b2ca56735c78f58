"""Section 2: the prune of the unused images, ours cold and warm against the CLI and docker_prune."""
from typing import Any

from .compare import OURS_COLD, OURS_WARM, PRUNE_CLI, PRUNE_PEER, Samples
from .markdown import FINDINGS_SECTION, calls_text, ratio, seconds, spread, table, verdict


def _comparison_table(samples: dict[str, Samples]) -> list[str]:
    cli, peer = samples[PRUNE_CLI].median("task_s"), samples[PRUNE_PEER].median("task_s")
    rows = [[name, seconds(item.median("task_s")), spread(item, "task_s"), ratio(item.median("task_s"), cli),
             ratio(item.median("task_s"), peer), seconds(item.median("added_s")),
             f"{item.spread('removed')[0]:.0f}-{item.spread('removed')[1]:.0f}", seconds(item.median("reseed_s"))]
            for name, item in samples.items()]
    return table(["task", "task time (median)", "(min-max)", f"vs {PRUNE_CLI}", "vs docker_prune", "added over ping",
                  "images removed (min-max)", "engine restore before it"], rows)


def inprocess_table(by_state: dict[str, dict[str, Any]]) -> list[str]:
    """The steps of whole prunes in-process side by side (``by_state``: column label -> measure_prune's result)."""
    steps = list(next(iter(by_state.values()))["steps"])
    header = ["step"] + [f"{label}: time" for label in by_state] + [f"{label}: engine API calls" for label in by_state]
    rows = [[step] + [seconds(inproc["steps"][step]) for inproc in by_state.values()]
            + [calls_text(inproc["calls"][step]) for inproc in by_state.values()] for step in steps]
    return table(header, rows)


def _targets(samples: dict[str, Samples], expected: int) -> list[list[str]]:
    cli, peer = samples[PRUNE_CLI].median("task_s"), samples[PRUNE_PEER].median("task_s")
    targets = []
    for label, name in (("cold", OURS_COLD), ("warm", OURS_WARM)):
        ours = samples[name].median("task_s")
        targets += [[f"prune {label}: wall <= 1.1x {PRUNE_CLI}", ratio(ours, cli),
                     verdict(ours <= 1.1 * cli, f"see the in-process steps in section 2 and {FINDINGS_SECTION}")],
                    [f"prune {label}: faster than {PRUNE_PEER}", ratio(ours, peer), verdict(ours < peer)]]
    removed_ok = all(item.spread("removed") == (expected, expected) for item in samples.values())
    targets.append(["prune: every contender removed exactly the same set size", str(expected), verdict(removed_ok)])
    return targets


def prune_section(samples: dict[str, Samples], expected: int, inproc: dict[str, dict[str, Any]] | None) -> tuple[list[str], list[list[str]]]:
    """Tables of the prune comparison and of whole prunes in-process (cold and warm), and the target rows."""
    lines = [f"Every run starts from the same saved engine; {expected} images are unused and older than 30 days. Cold: no "
             "state file (a fresh `state_path` folder). Warm: the state folder a run that removed nothing (the same "
             "policy with `older_than: 3650d`) wrote on the same restored engine, copied into place after each restore. "
             "Warm, 5% new (in-process only): the warm state with every 20th image left out of its per-image detail, "
             "as if those images had come since it was written.", ""]
    lines += _comparison_table(samples)
    if inproc:
        counts = ", ".join(f"{label}: {item['planned']} planned, {item['removed']} removed, {item['errors']} errors"
                           for label, item in inproc.items())
        lines += [f"Whole prunes in-process, the module_utils code as the module runs it against the engine's socket, each "
                  f"on the restored engine ({counts}):", ""]
        lines += inprocess_table(inproc)
    return lines, _targets(samples, expected)


def prune_analysis(inproc: dict[str, Any], prune: dict[str, Samples], plan: dict[str, Samples]) -> list[str]:
    """Where the cold prune's time goes: the engine's per-image answers vs our own work."""
    steps, calls = inproc["steps"], inproc["calls"]
    per_image_reads = sum(count for call, count in calls["read"].items() if "/images/{id}/" in call)
    return [
        f"Where {OURS_COLD}'s time goes (the in-process prune above): reading the engine with the per-image layer detail "
        f"took {steps['read']:.2f} s for {sum(calls['read'].values())} API calls ({per_image_reads} of them per image: an "
        f"inspect each, and a history per distinct layer stack), planning {steps['plan']:.2f} s, carrying the plan out "
        f"{steps['apply']:.2f} s ({sum(calls['apply'].values())} calls) and reading the engine again "
        f"{steps['read after']:.2f} s. The check-mode task, which makes the same reads, took "
        f"{min(item.median('added_s') for item in plan.values()):.1f} s added over ping (median of the repetitions).",
        f"{PRUNE_CLI} does no prediction and no per-image reads: it walks the image store inside the engine in one call "
        f"({prune[PRUNE_CLI].median('added_s'):.1f} s added over ping here).",
    ]
