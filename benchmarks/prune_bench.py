"""Section 2's measurements: the prune of the unused images, ours cold and warm, the CLI and docker_prune.

Every run starts from the engine's saved copy. The warm state is written once (a run of the same policy that
removes nothing, on the restored engine), saved, and put in place after each restore before a warm run.
"""
from pathlib import Path
from typing import Any, Callable

from sandbox.model import Host

from . import ansible_run, compare, engine_copy, inprocess, warm_state
from .population import image_count


def _write_warm_state(host: Host, inventory: Path, images: int) -> None:
    """On the restored engine, the module once with a policy that removes nothing; keep the state folder it wrote."""
    engine_copy.restore(host)
    playbook = compare.task_playbook("bench-warming", host.name,
                                     {"cachewarden.docker.docker_cache_prune": warm_state.warming_policy(compare.PRUNE_POLICY)})
    run = ansible_run.playbook(inventory, playbook)
    if run.returncode != 0 or run.failures() or image_count(host) != images:
        raise RuntimeError(f"the warming run failed or removed images (rc {run.returncode}): {run.failures() or run.stderr[-1500:]}")
    warm_state.save(host)


def _in_process(host: Host, warm: bool, new_share: float = 0.0) -> dict[str, Any]:
    """A whole prune in-process on the restored engine, with the warm state in place (``new_share`` of its images
    left out, as if new) or none."""
    engine_copy.restore(host)
    if warm:
        warm_state.install(host)
        if new_share:
            warm_state.forget_share(host, new_share)
    options = {key: value for key, value in compare.PRUNE_POLICY.items() if key != "state_path"}
    return inprocess.measure_prune(host.docker_host, options, warm_state.state_file(host))


def measure(host: Host, inventory: Path, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The comparison's samples (``prune``) and one whole prune in-process cold and warm (``inprocess_prune``)."""
    engine_copy.restore(host)
    images = image_count(host)
    log("prune: the warm state (the same policy with older_than 3650d, on the restored engine)")
    _write_warm_state(host, inventory, images)
    log("prune in-process, cold and warm (restored engine)")
    in_process = {"cold": _in_process(host, warm=False), "warm": _in_process(host, warm=True),
                  f"warm, {warm_state.NEW_SHARE:.0%} new": _in_process(host, warm=True, new_share=warm_state.NEW_SHARE)}

    def before_each(name: str) -> float:
        seconds = engine_copy.restore(host)
        if name == compare.OURS_WARM:
            warm_state.install(host)
        return seconds

    log("prune comparison (the engine is restored before each run)")
    samples = compare.task_comparison(inventory, host.name, compare.PRUNE_CONTENDERS, reps, before_each=before_each,
                                      after_each=lambda _name, _run: {"removed": images - image_count(host)})
    return {"prune": samples, "inprocess_prune": in_process}
