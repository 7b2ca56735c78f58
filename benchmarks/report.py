"""The frame of docs/benchmarks.md: machine, populations, targets, the sections, notes and how to reproduce."""
from typing import Any

from .markdown import seconds, table


def _populations(populations: dict[str, dict[str, Any]]) -> list[str]:
    """Counts and population steps, a column per populated host."""
    if not populations:
        return ["No host was populated at the Population scale in this run (only parts that bring their own).", ""]
    labels = list(populations)
    kinds = list(next(iter(populations.values()))["counts"])
    lines = table(["what", *labels], [[kind, *(str(populations[label]["counts"].get(kind, "")) for label in labels)] for kind in kinds])
    steps = list(dict.fromkeys(step for population in populations.values() for step in population["timings"]))
    rows = [[step, *(seconds(populations[label]["timings"][step]) if step in populations[label]["timings"] else ""
                     for label in labels)] for step in steps]
    return lines + table(["step", *labels], rows)


def render(results: dict[str, Any], sections: list[tuple[str, list[str]]], targets: list[list[str]], notes: list[str]) -> str:
    """The whole page."""
    lines = ["# Benchmarks", "",
             "Written by `make bench` (benchmarks/, not part of `make test`); the figures below are the ones that run printed.", "",
             "## Machine and engine", ""]
    lines += table(["", ""], [[key, str(value)] for key, value in {**results["machine"], **results["engine"]}.items()])
    lines += ["## Population", ""] + _populations(results.get("populations", {}))
    lines += ["## Targets", ""] + (table(["target", "measured", "verdict"], targets) if targets else
                                   ["None of the parts that ran has a target.", ""])
    for title, body in sections:
        lines += [f"## {title}", ""] + body
    lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    lines += ["## How to reproduce", "",
              "    make bench                        # full scale (Docker 28.5, overlay2; the facts on Docker 20.10 too), writes this page",
              "    make bench BENCH_QUICK=1          # a tenth of the scale, to try the harness",
              "    make bench BENCH_REPS=3 BENCH_ARGS=\"--prune-reps 2 --fleet-reps 2\"",
              "    make bench BENCH_ONLY=curves      # one part (or a comma list) alone: facts, plan, prune, fleet, start, curves",
              "", f"This page: {_settings_line(results['settings'])}.", ""]
    return "\n".join(lines)


def _settings_line(settings: dict[str, Any]) -> str:
    return (f"{settings['reps']} repetitions of the facts, planning and module start comparisons, {settings['prune_reps']} of "
            f"the prune comparison, {settings['fleet_reps']} of the fleet comparison over {settings['hosts']} hosts "
            f"(forks {settings['forks']}), {settings['curve_reps']} per point of the cost curves; parts run: {settings['only']}")


def method_notes(machine: dict[str, Any], reused: bool) -> list[str]:
    """How the figures were taken, stated once on the page."""
    notes = [
        "Task times come from the `ansible.posix.json` callback (per-task start and end). \"Added over ping\" is a task's time "
        "minus that of an `ansible.builtin.ping` task in the same play, run after a first ping has opened the SSH connection; "
        "pipelining is on, as in the integration tests.",
        "Each repetition runs every contender once, the order rotated from one repetition to the next; the tables give "
        "medians. Peak memory is `Maximum resident set size` from `/usr/bin/time -v` (of the controller: its largest single "
        "process; of the module: its own process).",
        f"Load average {machine.get('load average at start', '?')} at the start, "
        f"{machine.get('load average at end', '?')} at the end, on {machine.get('CPU', '?')}. The sandbox hosts run on "
        "this machine: their engines, sshd and the modules' Python share its cores with the controller (the fleet "
        "itself raises the load), where a real fleet runs them on each host. Alternating repetitions keep the "
        "ratios fair.",
    ]
    if reused:
        notes.append("Engines populated at the same scale by an earlier run were restored from the copies saved then "
                     "(`--reuse`); their population figures are those recorded then (same code).")
    return notes
