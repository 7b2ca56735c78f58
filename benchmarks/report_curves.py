"""Section 6: the cost curves, their tables and a paragraph with the fitted slopes and where the growth bends."""
import dataclasses
from typing import Any, Callable

from .fit import BEND, FLOOR, Line, least_squares
from .markdown import kilobytes, medians, seconds, table


@dataclasses.dataclass(frozen=True)
class Series:
    """One measure of a curve: ``key`` of its points; the slope shown times ``factor`` in ``unit`` per x."""

    what: str
    key: str
    factor: float
    unit: str
    decimals: int
    base: Callable[[float], str]  # how the fitted value at zero is written


IMAGE_SERIES = [Series("the read", "read_s", 1e3, "ms", 3, seconds), Series("the plan", "plan_s", 1e3, "ms", 4, seconds),
                Series("the apply", "apply_s", 1e3, "ms", 3, seconds),
                Series("the check-mode result", "result_bytes", 1, "bytes", 0, kilobytes),
                Series("the module process's peak RSS", "max_rss_kb", 1, "KB", 1, lambda kb: f"{kb / 1024:.0f} MB")]
HOST_SERIES = [Series("the wall", "wall_s", 1, "s", 2, seconds), Series("the controller's CPU time", "controller_cpu_s", 1, "s", 2, seconds),
               Series("the module's task", "module_task_s", 1, "s", 2, seconds)]


def _image_table(points: list[dict[str, float]]) -> list[str]:
    rows = [[f"{point['size']:.0f}", f"{point['images']:.0f}", f"{point['planned']:.0f}", seconds(point["read_s"]),
             seconds(point["plan_s"]), seconds(point["apply_s"]), kilobytes(point["result_bytes"]),
             f"{point['max_rss_kb'] / 1024:.0f} MB", seconds(point["process_s"])] for point in points]
    return table(["images (scale)", "images read", "planned", "read", "plan", "apply", "check-mode result",
                  "module process peak RSS (check mode)", "module process wall (check mode)"], rows)


def _host_table(points: list[dict[str, float]]) -> list[str]:
    rows = [[f"{point['size']:.0f}", seconds(point["wall_s"]), seconds(point["controller_cpu_s"]), seconds(point["module_task_s"]),
             seconds(point["module_task_s"] / point["size"])] for point in points]
    return table(["hosts", "wall", "controller CPU time", "the module's task (first host start to last host end)",
                  "of it per host"], rows)


def _departures(what: str, line: Line, plural: str) -> str:
    """Where ``line``'s curve bends or falls, as a clause ("" when it does neither)."""
    found = [f"{low:.0f}-{high:.0f} {plural}: {ratio:.1f}x as steep as the segment before" for low, high, ratio in line.bends()]
    found += [f"{low:.0f}-{high:.0f} {plural}: falls" for low, high in line.falls()]
    return f"{what} ({'; '.join(found)})" if found else ""


def _paragraph(points: list[dict[str, float]], series: list[Series], per: str, plural: str) -> str:
    xs = [point["size"] for point in points]
    fits, bends = [], []
    for item in series:
        line = least_squares(xs, [point[item.key] for point in points])
        fits.append(f"{item.what} {line.slope * item.factor:.{item.decimals}f} {item.unit} per {per} on top of "
                    f"{item.base(line.intercept)} (R² {line.r2:.3f})")
        bends.append(_departures(item.what, line, plural))
    bent = [text for text in bends if text]
    rule = (f"the slope between neighbouring sizes over {BEND}x or under 1/{BEND} of the one before; a step that changes "
            f"a measure by less than {FLOOR:.0%} of its range is taken as noise")
    shape = (f"Where it bends or falls ({rule}): " + "; ".join(bent) + "." if bent else
             f"Nothing bends or falls ({rule}): the growth is linear over this range.")
    return f"Least-squares slopes over {xs[0]:.0f} to {xs[-1]:.0f} {plural}: " + ", ".join(fits) + ". " + shape


def curves_section(curves: dict[str, Any]) -> list[str]:
    """The image curve and the fleet curve (whichever ran), each with its paragraph."""
    lines: list[str] = []
    if curves.get("images"):
        lines += ["One host (Docker 28.5, overlay2) filled with the Population's shape scaled to each size; per size the engine "
                  "is restored before each repetition. Read, plan and apply: a whole prune in-process as the module makes it "
                  "(no state file); result size and peak RSS: the check-mode module process, its AnsiballZ file (kept with "
                  "`ANSIBLE_KEEP_REMOTE_FILES=1`) run again under `/usr/bin/time -v` (`Maximum resident set size`); "
                  f"{medians(curves['reps'])}.", ""]
        lines += _image_table(curves["images"])
        lines += [_paragraph(curves["images"], IMAGE_SERIES, "image", "images"), ""] if len(curves["images"]) > 1 else []
    if curves.get("hosts"):
        lines += [f"playbooks/enforce.yml (the fleet comparison's policy, forks {curves['forks']}) over the first N fleet "
                  "hosts, every host restored before each run; the module's task from the `ansible.posix.json` callback, "
                  "which under the linear strategy records one start and one end per task (all hosts), so the per-host "
                  f"figure is that time divided by the hosts; {medians(curves['reps'])}.", ""]
        lines += _host_table(curves["hosts"])
        lines += [_paragraph(curves["hosts"], HOST_SERIES, "host", "hosts"), ""] if len(curves["hosts"]) > 1 else []
    return lines
