"""Section 1: docker_cache_facts against docker_host_info (and the CLI's df), on each engine measured."""
from typing import Any

from .compare import Samples
from .markdown import FINDINGS_SECTION, kilobytes, ratio, seconds, spread, table, verdict

REFERENCE, OURS, CLI_DF = "community.docker.docker_host_info", "cachewarden.docker.docker_cache_facts", "docker system df -v"


def _engine_table(samples: dict[str, Samples]) -> list[str]:
    ref = samples[REFERENCE].median("added_s")
    rows = [[name, seconds(item.median("added_s")), spread(item, "added_s"), ratio(item.median("added_s"), ref),
             seconds(item.median("task_s")), kilobytes(item.median("result_bytes"))] for name, item in samples.items()]
    return table(["task", "added over ping (median)", "(min-max)", "vs docker_host_info", "task time (median)", "result size"], rows)


def _targets(samples: dict[str, Samples], engine: str) -> list[list[str]]:
    ref, added = samples[REFERENCE].median("added_s"), samples[OURS].median("added_s")
    reason = f"most of it is the engine's GET /system/df, see {FINDINGS_SECTION}"
    if CLI_DF in samples:
        reason = (f"most of it is the engine's GET /system/df ({seconds(samples[CLI_DF].median('added_s'))} for `docker system "
                  f"df -v`, the same call, alone), see {FINDINGS_SECTION}")
    return [[f"facts on {engine}: added time <= 0.5x docker_host_info", ratio(added, ref), verdict(added <= 0.5 * ref, reason)]]


def facts_section(by_engine: dict[str, dict[str, Samples]], population: str) -> tuple[list[str], list[list[str]]]:
    """One table per engine (``by_engine``: engine label -> samples) and the target rows."""
    lines = [f"Each engine holds the same population ({population}; counts in Population).", ""]
    targets: list[list[str]] = []
    for engine, samples in by_engine.items():
        lines += [f"On {engine}:", ""] + _engine_table(samples)
        targets += _targets(samples, engine)
    sizes = [samples[OURS].median("result_bytes") for samples in by_engine.values()]
    targets.append(["facts: default result < 100 KB per host", " / ".join(kilobytes(size) for size in sizes),
                    verdict(all(size < 100_000 for size in sizes))])
    return lines, targets


def facts_engines(results: dict[str, Any]) -> dict[str, dict[str, Samples]]:
    """The facts comparisons of a run by engine label, in page order."""
    comparisons, engines = results["comparisons"], results.get("facts_engines", {})
    return {engines.get(key, key): comparisons[key] for key in ("facts", "facts_stable") if key in comparisons}
