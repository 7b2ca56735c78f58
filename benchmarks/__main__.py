"""``python -m benchmarks``: populate sandbox engines, run the comparisons and curves, write docs/benchmarks.md.

Uses the sandbox of ``CW_SANDBOX_SLOT`` (see ``python -m sandbox --help``; hosts as benchmarks/layout.py lays them
out) and brings it down at the end unless ``--keep``.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.lifecycle import down
from sandbox.model import Fleet

from . import ansible_run, compare, curves, fleet_bench, inprocess, layout, machine, module_start, prune_bench, warm_state
from .page import load, page
from .population import Stock
from .scale import CURVE_HOSTS, CURVE_HOSTS_QUICK, CURVE_IMAGES, CURVE_IMAGES_QUICK, FLEET_HOST, FULL, QUICK, Scale

PARTS = ("facts", "plan", "prune", "fleet", "start", "curves")


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _sizes(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale, 2 repetitions, 3 fleet hosts, small curves")
    parser.add_argument("--reps", type=int, help="repetitions of the facts, planning and start comparisons (default 5, quick 2)")
    parser.add_argument("--prune-reps", type=int, help="repetitions of the prune comparison (default 3, quick 1)")
    parser.add_argument("--fleet-reps", type=int, help="repetitions of the fleet comparison (default 3, quick 1)")
    parser.add_argument("--curve-reps", type=int, help="repetitions per point of the cost curves (default 2, quick 1)")
    parser.add_argument("--hosts", type=int, help="fleet hosts (default 25, quick 3; 0 skips the fleet comparison)")
    parser.add_argument("--curve-images", type=_sizes, help="image counts of the image curve, e.g. 500,1000 "
                        f"(default {','.join(map(str, CURVE_IMAGES))}, quick {','.join(map(str, CURVE_IMAGES_QUICK))}; empty skips it)")
    parser.add_argument("--curve-hosts", type=_sizes, help="fleet sizes of the fleet curve "
                        f"(default {','.join(map(str, CURVE_HOSTS))}, quick {','.join(map(str, CURVE_HOSTS_QUICK))}; empty skips it)")
    parser.add_argument("--forks", type=int, default=25, help="Ansible forks of the fleet runs")
    parser.add_argument("--output", type=Path, default=ansible_run.REPO / "docs" / "benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox up afterwards")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma list of the parts to run (of {','.join(PARTS)})")
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of the prune snapshot and plan")
    parser.add_argument("--render", type=Path, help="only write the page from a saved results.json")
    parser.add_argument("--reuse", action="store_true", help="restore engines from the copies a kept sandbox saved (same scale)")
    return parser


def _settings(args: argparse.Namespace, scale: Scale) -> dict[str, Any]:
    only = [part for part in args.only.split(",") if part]
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        raise SystemExit(f"--only: unknown parts {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    return {"reps": args.reps or (2 if args.quick else 5), "prune_reps": args.prune_reps or (1 if args.quick else 3),
            "fleet_reps": args.fleet_reps or (1 if args.quick else 3), "curve_reps": args.curve_reps or (1 if args.quick else 2),
            "forks": args.forks, "reuse": args.reuse, "only": ",".join(only), "scale": str(scale), "expected": scale.old_images,
            "hosts": args.hosts if args.hosts is not None else (3 if args.quick else 25),
            "curve_images": args.curve_images if args.curve_images is not None else list(CURVE_IMAGES_QUICK if args.quick else CURVE_IMAGES),
            "curve_hosts": args.curve_hosts if args.curve_hosts is not None else list(CURVE_HOSTS_QUICK if args.quick else CURVE_HOSTS)}


def main(argv: list[str] | None = None) -> int:
    """Run the parts (or only render saved results); write the page."""
    args = _parser().parse_args(argv)
    if args.render:
        results = load(args.render)
        results["settings"]["rendered_again"] = True
    else:
        results = _run(args)
        (ansible_run.WORK / "results.json").write_text(
            json.dumps(results, default=lambda o: getattr(o, "values", str(o)), indent=1), encoding="utf-8")
    text = page(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    _log(f"written {args.output}")
    return 0


def _run(args: argparse.Namespace) -> dict[str, Any]:
    """Bring the sandbox up, run the parts asked for; the results (the sandbox goes down unless --keep)."""
    scale = QUICK if args.quick else FULL
    settings = _settings(args, scale)
    results: dict[str, Any] = {"machine": machine.machine(), "settings": settings, "comparisons": {}, "populations": {},
                               "facts_engines": {}}
    only, stock = set(settings["only"].split(",")), Stock(args.reuse)
    try:
        _log(f"sandbox hosts {layout.MAIN} (Docker {layout.ENGINE}), {layout.STABLE_HOST} (stable), {layout.CURVE_HOST} "
             f"(Docker {layout.ENGINE}), {layout.STORE}")
        fleet = layout.with_members(0)
        main_host = fleet.host(layout.MAIN)
        results["engine"] = machine.engine(main_host)
        inventory = fleet_bench.write_inventory(fleet, [fleet.host(name) for name in layout.SINGLE_HOSTS], "bench.ini")
        if only & {"facts", "plan", "prune"}:
            _log(f"populating {main_host.name}: {scale}")
            results["populations"][f"{main_host.name} ({machine.engine_label(main_host)})"] = stock.populate(main_host, scale)
        if "facts" in only:
            _facts(stock, fleet, inventory, scale, settings["reps"], results)
        if "plan" in only:
            _plan(args, fleet, inventory, settings["reps"], results)
        if "prune" in only:
            results["comparisons"].update(prune_bench.measure(main_host, inventory, settings["prune_reps"], _log))
        if settings["hosts"] and "fleet" in only:
            _fleet(stock, settings, results)
        if "start" in only:
            _log("module start: a task against a socket that does not exist, and the module's imports")
            results["comparisons"]["start"] = module_start.start_times(inventory, main_host.name, settings["reps"])
            results["start_imports"] = module_start.imports(inventory, main_host.name, settings["reps"])
        if "curves" in only:
            results["curves"] = _curves(stock, fleet, inventory, settings)
        results["machine"]["load average at end"] = machine.load_average()
    finally:
        if not args.keep:
            _log("bringing the sandbox down")
            down()
    return results


def _facts(stock: Stock, fleet: Fleet, inventory: Path, scale: Scale,  # pylint: disable=too-many-arguments,too-many-positional-arguments
           reps: int, results: dict[str, Any]) -> None:
    """The facts comparison on the main host (Docker 28.5) and on the stable host (Debian's 20.10), same population."""
    stable = fleet.host(layout.STABLE_HOST)
    _log(f"populating {stable.name} (the stable engine): {scale}")
    results["populations"][f"{stable.name} ({machine.engine_label(stable)})"] = stock.populate(stable, scale)
    for key, name in (("facts", layout.MAIN), ("facts_stable", layout.STABLE_HOST)):
        label = machine.engine_label(fleet.host(name))
        _log(f"facts comparison on {name} ({label})")
        results["facts_engines"][key] = label
        results["comparisons"][key] = compare.task_comparison(inventory, name, compare.FACTS_CONTENDERS, reps)


def _plan(args: argparse.Namespace, fleet: Fleet, inventory: Path, reps: int, results: dict[str, Any]) -> None:
    """Check-mode prune through Ansible, and the module_utils steps in-process."""
    _log("planning: check mode and in-process")
    host = fleet.host(layout.MAIN)
    results["comparisons"]["plan"] = compare.task_comparison(inventory, host.name, compare.PLAN_CONTENDERS, reps)
    policy = {key: value for key, value in compare.PRUNE_POLICY.items() if key != "state_path"}
    results["comparisons"]["inprocess"] = inprocess.measure(host.docker_host, policy, warm_state.state_file(host), plan_reps=reps)
    if args.profile:
        profile_path = ansible_run.WORK / "profile-prune-snapshot.txt"
        profile_path.write_text(inprocess.profile(host.docker_host, policy), encoding="utf-8")
        _log(f"cProfile of the prune snapshot and plan: {profile_path}")


def _fleet(stock: Stock, settings: dict[str, Any], results: dict[str, Any]) -> None:
    """The enforce playbook vs an ad hoc shell prune over the first ``hosts`` fleet hosts."""
    hosts = settings["hosts"]
    _log(f"fleet: {hosts} hosts")
    fleet = layout.with_members(hosts)
    members = layout.members(fleet, hosts)
    stock.populate_many(members, FLEET_HOST)
    inventory = fleet_bench.write_inventory(fleet, members)
    first = members[0]
    _log(f"fleet: one host's prune in-process ({first.name}, restored engine)")
    fleet_bench.restore_all([first])
    results["comparisons"]["inprocess_fleet_host"] = inprocess.measure_prune(first.docker_host, compare.fleet_module_options(),
                                                                             warm_state.state_file(first))
    results["comparisons"]["fleet"] = fleet_bench.compare(inventory, members, settings["fleet_reps"], settings["forks"])


def _curves(stock: Stock, fleet: Fleet, inventory: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The image curve on the curve host and the fleet curve."""
    found: dict[str, Any] = {"reps": settings["curve_reps"], "forks": settings["forks"]}
    if settings["curve_images"]:
        found["images"] = curves.image_curve(stock, fleet.host(layout.CURVE_HOST), inventory, settings["curve_images"],
                                             settings["curve_reps"], _log)
    if settings["curve_hosts"]:
        found["hosts"] = curves.fleet_curve(stock, settings["curve_hosts"], settings["curve_reps"], settings["forks"], _log)
    return found


if __name__ == "__main__":
    sys.exit(main())
