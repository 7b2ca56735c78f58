"""The prune's state dir (``state_path``'s folder) cold and warm.

The state file lives under /var/lib/docker inside the host, i.e. in the data dir the harness restores,
so every restore leaves a fresh, empty state dir (cold). Warm: a prune that removes nothing writes
its state on the restored engine once; that folder is saved and copied into place after each restore.
"""
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sandbox.model import Host

from . import engine_copy

STATE_DIR_INSIDE = Path("/var/lib/docker/cachewarden-bench")
STATE_PATH = str(STATE_DIR_INSIDE / "last-used.json")
# The run that writes the warm state: the same policy, but nothing is that old.
NOTHING_THAT_OLD = {"older_than": "3650d"}
# The share of images a "warm, some new" run finds new since the state was written.
NEW_SHARE = 0.05


def state_dir(host: Host) -> Path:
    """The state dir as the controller sees it (the host binds its data dir over /var/lib/docker)."""
    return host.data_dir / STATE_DIR_INSIDE.relative_to("/var/lib/docker")


def state_file(host: Host) -> Path:
    """The state file as the controller sees it."""
    return state_dir(host) / Path(STATE_PATH).name


def _saved(host: Host) -> Path:
    return engine_copy.saved_dir(host).with_name("bench-warm-state")


def warming_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """``policy`` changed so that it removes nothing but reads every image's detail and writes its state."""
    return {**policy, **NOTHING_THAT_OLD, "state_path": STATE_PATH}


def save(host: Host) -> None:
    """Keep the state dir a warming run left on ``host``; fails when that run wrote no state file."""
    if not state_file(host).is_file():
        raise RuntimeError(f"{host.name}: the warming run wrote no state file at {STATE_PATH}")
    target = _saved(host)
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-a", str(state_dir(host)), str(target)], check=True)


def install(host: Host) -> None:
    """Put the saved warm state dir in place (after a restore, which left none)."""
    target = state_dir(host)
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-a", str(_saved(host)), str(target)], check=True)


def forget_share(host: Host, share: float) -> int:
    """Leave ``share`` of the images (every n-th by ID) out of the installed state's per-image detail, so that a run
    reads them as images new since the state was written; returns how many."""
    path = state_file(host)
    state = json.loads(path.read_text(encoding="utf-8"))
    images = state["image_detail"]["images"]
    dropped = sorted(images)[::round(1 / share)]
    for image_id in dropped:
        del images[image_id]
    path.write_text(json.dumps(state), encoding="utf-8")
    return len(dropped)
