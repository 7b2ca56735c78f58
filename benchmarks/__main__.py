"""``python -m benchmarks``: populate a sandbox engine, run the comparisons, write docs/benchmarks.md.

Uses the sandbox of ``CW_SANDBOX_SLOT`` (see ``python -m sandbox --help``) and brings it down at the end
unless ``--keep``.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.client import docker_client
from sandbox.lifecycle import down, up
from sandbox.model import Host
from sandbox.wipe import wipe_client

from . import ansible_run, compare, engine_copy, fleet_bench, report
from .populate import Populator, counts
from .scale import FLEET_HOST, FULL, QUICK

sys.path.insert(0, str(ansible_run.REPO / ".cache" / "collections"))
from . import inprocess  # noqa: E402  pylint: disable=wrong-import-position

ENGINE, STORE = "28.5", "overlay2"
OURS_FACTS, REF_FACTS = "cachewarden.docker.docker_cache_facts", "community.docker.docker_host_info"
OURS_PRUNE, REF_PRUNE = "cachewarden.docker.docker_cache_prune", "docker image prune -a -f"
FLEET_OURS, FLEET_REF = fleet_bench.ENFORCE_NAME, fleet_bench.SHELL_NAME
FINDINGS = Path(__file__).with_name("findings.md")


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale, 2 repetitions, 3 fleet hosts")
    parser.add_argument("--reps", type=int, help="repetitions of each comparison (default 5, quick 2)")
    parser.add_argument("--prune-reps", type=int, help="repetitions of the prune comparison (default 3, quick 1)")
    parser.add_argument("--fleet-reps", type=int, help="repetitions of the fleet comparison (default 3, quick 1)")
    parser.add_argument("--hosts", type=int, help="fleet hosts (default 25, quick 3; 0 skips the fleet comparison)")
    parser.add_argument("--forks", type=int, default=25, help="Ansible forks of the fleet runs")
    parser.add_argument("--output", type=Path, default=ansible_run.REPO / "docs" / "benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox up afterwards")
    parser.add_argument("--only", default="facts,plan,prune,fleet", help="comma list of the comparisons to run")
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of the prune snapshot and plan")
    parser.add_argument("--render", type=Path, help="only write the page from a saved results.json")
    parser.add_argument("--reuse", action="store_true", help="restore h1 from the copy a kept sandbox saved (same scale)")
    return parser


def _machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
                      if line.startswith("MemTotal")))
    return {"CPU": f"{cpu} ({os.cpu_count()} cores)", "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "kernel": platform.release(), "OS": platform.freedesktop_os_release().get("PRETTY_NAME", "?"),
            "Python": platform.python_version(), "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def _engine(host: Host) -> dict[str, Any]:
    client = docker_client(host)
    try:
        version, info = client.version(), client.info()
    finally:
        client.close()
    components = {item.get("Name"): item.get("Version") for item in version.get("Components") or []}
    return {"engine": f"Docker {version.get('Version')} (API {version.get('ApiVersion')})",
            "containerd": components.get("containerd", "?"), "storage driver": info.get("Driver"),
            "ansible-core": _ansible_version()}


def _ansible_version() -> str:
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel
    return __version__


def _population_file(host: Host) -> Path:
    return engine_copy.saved_dir(host).with_name("bench-population.json")


def _populate(host: Host, scale, reuse: bool) -> dict[str, Any]:
    saved = _population_file(host)
    if reuse and saved.is_file() and json.loads(saved.read_text(encoding="utf-8"))["scale"] == str(scale):
        engine_copy.restore(host)
        return json.loads(saved.read_text(encoding="utf-8"))["population"]
    client = docker_client(host, timeout=900)
    try:
        started = time.perf_counter()
        wipe_client(client)
        timings = {"wipe (before)": time.perf_counter() - started}
        timings.update(Populator(client, scale).run())
        found = counts(client)
    finally:
        client.close()
    timings["save the data dir (engine stopped)"] = engine_copy.save(host)
    population = {"counts": found, "timings": timings}
    saved.write_text(json.dumps({"scale": str(scale), "population": population}), encoding="utf-8")
    return population


def _image_count(host: Host) -> int:
    client = docker_client(host)
    try:
        return len(client.api.images(all=True, quiet=True))
    finally:
        client.close()


def page(results: dict[str, Any]) -> str:
    """docs/benchmarks.md from ``results`` (what a run collected, or its saved results.json)."""
    settings, comparisons = results["settings"], results["comparisons"]
    sections, targets = [], []
    notes = report.method_notes(results["machine"], settings["reuse"])
    if settings.get("rendered_again"):
        notes.append("This page was written again from the run's saved results (`python -m benchmarks --render "
                     ".cache/bench/results.json`): the figures are that run's.")
    if "facts" in comparisons:
        body, rows = report.facts_section(comparisons["facts"], REF_FACTS, OURS_FACTS)
        sections.append((f"1. Facts ({settings['reps']} repetitions, alternating)", body))
        targets += rows
    if "prune" in comparisons:
        body, rows = report.prune_section(comparisons["prune"], REF_PRUNE, OURS_PRUNE, settings["expected"],
                                          comparisons.get("inprocess_prune"))
        sections.append((f"2. Prune ({settings['prune_reps']} repetitions, alternating, engine restored before each run)", body))
        targets += rows
    if "plan" in comparisons:
        body, rows = report.planning_section(comparisons["plan"], comparisons["inprocess"])
        sections.append((f"3. Check-mode planning ({settings['reps']} repetitions)", body))
        targets += rows
        if "inprocess_prune" in comparisons:
            notes += report.prune_analysis(comparisons["inprocess_prune"], comparisons["prune"], comparisons["plan"],
                                           OURS_PRUNE, REF_PRUNE)
    if "fleet" in comparisons:
        body, rows = report.fleet_section(comparisons["fleet"], FLEET_REF, FLEET_OURS, settings["hosts"],
                                          comparisons.get("inprocess_fleet_host"))
        sections.append((f"4. Fleet ({settings['fleet_reps']} repetitions, alternating, forks {settings['forks']})", body))
        targets += rows
        notes.append(f"Fleet hosts h2..h{settings['hosts'] + 1}, each populated with {FLEET_HOST} and saved in "
                     f"{settings['fleet_population_s']:.0f} s; every run starts from those saved engines.")
    sections.append(("5. What is ours and what is the engine's", FINDINGS.read_text(encoding="utf-8").strip().splitlines() + [""]))
    return report.render(results, sections, targets, notes)


def _load(path: Path) -> dict[str, Any]:
    """Saved results with their samples as :class:`compare.Samples` again."""
    results = json.loads(path.read_text(encoding="utf-8"))
    for name, contenders in results["comparisons"].items():
        if not name.startswith("inprocess"):
            results["comparisons"][name] = {key: compare.Samples(values) for key, values in contenders.items()}
    return results


def main(argv: list[str] | None = None) -> int:
    """Run everything (or only render saved results); write the page."""
    args = _parser().parse_args(argv)
    if args.render:
        results = _load(args.render)
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
    """Bring the sandbox up, populate, compare; the results (the sandbox goes down unless --keep)."""
    scale = QUICK if args.quick else FULL
    settings = {"reps": args.reps or (2 if args.quick else 5), "prune_reps": args.prune_reps or (1 if args.quick else 3),
                "fleet_reps": args.fleet_reps or (1 if args.quick else 3), "forks": args.forks, "reuse": args.reuse,
                "hosts": args.hosts if args.hosts is not None else (3 if args.quick else 25), "expected": scale.old_images}
    results: dict[str, Any] = {"machine": _machine(), "settings": settings, "comparisons": {}}
    only = set(args.only.split(","))
    try:
        _log(f"sandbox host h1: Docker {ENGINE}, {STORE}")
        fleet = up(1, [ENGINE], [STORE], scenario="none")
        host = fleet.host("h1")
        results["engine"] = _engine(host)
        inventory = fleet_bench.write_inventory(fleet, [host], "h1.ini")
        _log(f"populating h1: {scale}")
        results["population"] = _populate(host, scale, args.reuse)
        _log(f"population: {results['population']}")
        if "facts" in only:
            _log("facts comparison")
            results["comparisons"]["facts"] = compare.task_comparison(inventory, "h1", compare.FACTS_CONTENDERS, settings["reps"])
        if "plan" in only:
            _plan(args, host, inventory, settings["reps"], results)
        if "prune" in only:
            _log("prune in-process (restored engine)")
            engine_copy.restore(host)
            before_count = _image_count(host)
            policy = {key: value for key, value in compare.PRUNE_POLICY.items() if key != "state_path"}
            results["comparisons"]["inprocess_prune"] = inprocess.measure_prune(host.docker_host, policy)
            _log("prune comparison (the engine is restored before each run)")
            results["comparisons"]["prune"] = compare.task_comparison(
                inventory, "h1", compare.PRUNE_CONTENDERS, settings["prune_reps"], before_each=lambda: engine_copy.restore(host),
                after_each=lambda _name, _run: {"removed": before_count - _image_count(host)})
        if settings["hosts"] and "fleet" in only:
            _fleet(settings, results)
        results["machine"]["load average at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    finally:
        if not args.keep:
            _log("bringing the sandbox down")
            down()
    return results


def _plan(args: argparse.Namespace, host: Host, inventory: Path, reps: int, results: dict[str, Any]) -> None:
    """Check-mode prune through Ansible, and the module_utils steps in-process."""
    _log("planning: check mode and in-process")
    results["comparisons"]["plan"] = compare.task_comparison(inventory, "h1", compare.PLAN_CONTENDERS, reps)
    policy = {key: value for key, value in compare.PRUNE_POLICY.items() if key != "state_path"}
    results["comparisons"]["inprocess"] = inprocess.measure(host.docker_host, policy, plan_reps=reps)
    if args.profile:
        profile_path = ansible_run.WORK / "profile-prune-snapshot.txt"
        profile_path.write_text(inprocess.profile(host.docker_host, policy), encoding="utf-8")
        _log(f"cProfile of the prune snapshot and plan: {profile_path}")


def _fleet(settings: dict[str, Any], results: dict[str, Any]) -> None:
    """The enforce playbook vs an ad hoc shell prune over hosts h2..h(N+1)."""
    hosts = settings["hosts"]
    _log(f"fleet: {hosts} hosts")
    fleet = up(hosts + 1, [ENGINE], [STORE], scenario="none")
    members = [fleet.host(f"h{index}") for index in range(2, hosts + 2)]
    started = time.perf_counter()
    fleet_bench.populate(members, FLEET_HOST)
    settings["fleet_population_s"] = time.perf_counter() - started
    inventory = fleet_bench.write_inventory(fleet, members)
    _log(f"fleet: one host's prune in-process ({members[0].name}, restored engine)")
    engine_copy.restore(members[0])
    results["comparisons"]["inprocess_fleet_host"] = inprocess.measure_prune(members[0].docker_host,
                                                                             compare.fleet_module_options())
    results["comparisons"]["fleet"] = fleet_bench.compare(inventory, members, settings["fleet_reps"], settings["forks"])


if __name__ == "__main__":
    sys.exit(main())
