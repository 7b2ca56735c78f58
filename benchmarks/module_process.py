"""A module's own process without Ansible around it: the AnsiballZ file Ansible sent to the host, kept with
``ANSIBLE_KEEP_REMOTE_FILES`` (Ansible's documented way to debug a module), run again on this machine.

The sandbox hosts are this machine's namespaces with the same Python, so running the file here runs the very
process the host ran (same arguments, check mode included), now under ``/usr/bin/time -v`` or
``python -X importtime``. Its ``docker_host`` must be a path both sides see (the host's socket by its real path).
"""
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import ansible_run
from .compare import SUBJECT

REMOTE_TMP = ansible_run.WORK / "remote-tmp"
_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


@dataclasses.dataclass(frozen=True)
class ProcessRun:
    """One run of a kept module file: its wall seconds, peak RSS and what it printed."""

    wall_s: float
    max_rss_kb: int
    stdout: str

    def result(self) -> dict[str, Any]:
        """The module's JSON result."""
        return json.loads(self.stdout[self.stdout.index("{"):])


def keep(inventory: Path, host: str, name: str, task: dict[str, Any]) -> Path:
    """Run ``task`` once on ``host`` with the remote files kept (pipelining off: then Ansible writes the file);
    the AnsiballZ file of its module. The task may fail (its module's process is what is wanted)."""
    folder = REMOTE_TMP / name
    shutil.rmtree(folder, ignore_errors=True)
    playbook = ansible_run.write_playbook(f"keep-{name}", [{
        "name": name, "hosts": host, "gather_facts": False, "tasks": [{"name": SUBJECT, "ignore_errors": True, **task}]}])
    run = ansible_run.playbook(inventory, playbook, extra_env={
        "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "False", "ANSIBLE_REMOTE_TMP": str(folder)})
    found = sorted(folder.glob("ansible-tmp-*/AnsiballZ_*.py"))
    if run.returncode != 0 or len(found) != 1:
        raise RuntimeError(f"keeping the module file of {name} failed (rc {run.returncode}, files {found}): {run.stderr[-1500:]}")
    return found[0]


def run_timed(path: Path) -> ProcessRun:
    """Run the kept module file under ``/usr/bin/time -v``."""
    with tempfile.NamedTemporaryFile(dir=ansible_run.WORK, prefix="time-", suffix=".txt") as time_file:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", "-o", time_file.name, sys.executable, str(path)],
                              capture_output=True, text=True, check=False, timeout=1800)
        wall = time.perf_counter() - started
        rss = _MAX_RSS.search(Path(time_file.name).read_text(encoding="utf-8"))
    if "{" not in done.stdout:
        raise RuntimeError(f"{path.name} printed no result (rc {done.returncode}): {done.stderr[-1500:]}")
    return ProcessRun(wall, int(rss.group(1)) if rss else 0, done.stdout)


def import_times(path: Path) -> str:
    """``python -X importtime`` of the kept module file: what it printed on stderr."""
    done = subprocess.run([sys.executable, "-X", "importtime", str(path)], capture_output=True, text=True, check=False,
                          timeout=600)
    return done.stderr
