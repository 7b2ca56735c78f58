"""docs/benchmarks.md from what a run collected (or its saved results.json): the sections of the parts that ran."""
import json
from pathlib import Path
from typing import Any

from . import compare, layout, report
from .markdown import repetitions
from .report_curves import curves_section
from .report_facts import facts_engines, facts_section
from .report_fleet import fleet_section
from .report_plan import planning_section
from .report_prune import prune_analysis, prune_section
from .report_start import start_section
from .scale import FLEET_HOST

FINDINGS = Path(__file__).with_name("findings.md")


def page(results: dict[str, Any]) -> str:
    """The whole page."""
    settings, comparisons = results["settings"], results["comparisons"]
    sections, targets = [], []
    notes = report.method_notes(results["machine"], settings["reuse"])
    if settings.get("rendered_again"):
        notes.append("This page was written again from the run's saved results (`python -m benchmarks --render "
                     ".cache/bench/results.json`): the figures are that run's.")
    by_engine = facts_engines(results)
    if by_engine:
        body, rows = facts_section(by_engine, settings["scale"])
        sections.append((f"1. Facts on two engines ({repetitions(settings['reps'])}, alternating)", body))
        targets += rows
    if "prune" in comparisons:
        body, rows = prune_section(comparisons["prune"], settings["expected"], comparisons.get("inprocess_prune"))
        sections.append((f"2. Prune cold and warm ({repetitions(settings['prune_reps'])}, alternating, engine restored before "
                         "each run)", body))
        targets += rows
    if "plan" in comparisons:
        body, rows = planning_section(comparisons["plan"], comparisons["inprocess"])
        sections.append((f"3. Check-mode planning ({repetitions(settings['reps'])})", body))
        targets += rows
        if "inprocess_prune" in comparisons and "prune" in comparisons:
            notes += prune_analysis(comparisons["inprocess_prune"]["cold"], comparisons["prune"], comparisons["plan"])
    if "fleet" in comparisons:
        body, rows = fleet_section(comparisons["fleet"], settings["hosts"], comparisons.get("inprocess_fleet_host"))
        sections.append((f"4. Fleet ({repetitions(settings['fleet_reps'])}, alternating, forks {settings['forks']})", body))
        targets += rows
    fleet_sizes = ([settings["hosts"]] if "fleet" in comparisons else []) + [
        int(point["size"]) for point in results.get("curves", {}).get("hosts", [])]
    if fleet_sizes:
        names = layout.member_names(max(fleet_sizes))
        notes.append(f"Fleet hosts {names[0]}..{names[-1]}, each populated with {FLEET_HOST} (seeded by its number) and "
                     "saved; every run starts from those saved engines.")
    if "start" in comparisons:
        sections.append((f"5. Module start ({repetitions(settings['reps'])}, alternating)",
                         start_section(comparisons["start"], results["start_imports"])))
    if results.get("curves"):
        sections.append(("6. Cost curves", curves_section(results["curves"])))
    sections.append(("7. What is ours and what is the engine's",
                     FINDINGS.read_text(encoding="utf-8").strip().splitlines() + [""]))
    return report.render(results, sections, targets, notes)


def load(path: Path) -> dict[str, Any]:
    """Saved results with their samples as :class:`compare.Samples` again."""
    results = json.loads(path.read_text(encoding="utf-8"))
    for name, contenders in results["comparisons"].items():
        if not name.startswith("inprocess"):
            results["comparisons"][name] = {key: compare.Samples(values) for key, values in contenders.items()}
    return results
