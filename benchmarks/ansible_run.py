"""Run ansible-playbook / ansible the way users do and read per-task results from the ``ansible.posix.json`` callback.

Every run goes through ``/usr/bin/time -v`` so the controller's peak memory comes with it.
"""
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox import paths

REPO = paths.repo_root()
BIN = Path(sys.executable).parent
WORK = REPO / ".cache" / "bench"
_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_CPU = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")


@dataclasses.dataclass
class Run:
    """One ansible run: wall seconds, peak RSS of the largest controller process, and the callback's JSON."""

    wall: float
    max_rss_kb: int
    output: dict[str, Any]
    returncode: int
    stderr: str
    cpu_s: float = 0.0  # user + system time of the command and the children it waited for (workers, ssh)

    def tasks(self) -> list[dict[str, Any]]:
        """Every task entry of every play, in order."""
        return [task for play in self.output.get("plays", []) for task in play.get("tasks", [])]

    def task(self, name: str) -> dict[str, Any]:
        """The task entry called ``name`` (the first one)."""
        for task in self.tasks():
            if task["task"]["name"] == name:
                return task
        raise KeyError(f"no task {name!r} in the run (rc {self.returncode}): {self.stderr[-2000:]}")

    def task_seconds(self, name: str) -> float:
        """Duration of task ``name`` as the callback recorded it (first host start to last host end)."""
        duration = self.task(name)["task"]["duration"]
        return _stamp(duration["end"]) - _stamp(duration["start"])

    def task_durations(self) -> dict[str, float]:
        """Seconds of every task of the run by name (tasks of the same name summed), in run order."""
        durations: dict[str, float] = {}
        for task in self.tasks():
            duration = task["task"]["duration"]
            name = task["task"]["name"]
            durations[name] = durations.get(name, 0.0) + _stamp(duration["end"]) - _stamp(duration["start"])
        return durations

    def result(self, name: str, host: str) -> dict[str, Any]:
        """The result of task ``name`` on ``host``."""
        return self.task(name)["hosts"][host]

    def failures(self) -> list[str]:
        """``host: task: msg`` for every failed or unreachable result."""
        found = []
        for task in self.tasks():
            for host, result in task.get("hosts", {}).items():
                if result.get("failed") or result.get("unreachable"):
                    found.append(f"{host}: {task['task']['name']}: {str(result.get('msg', ''))[:300]}")
        return found

    def task_names_of(self, action: str) -> set[str]:
        """Names of the tasks that ran ``action`` (the json callback records each result's action)."""
        return {task["task"]["name"] for task in self.tasks()
                if any(result.get("action") == action for result in task.get("hosts", {}).values())}

    def module_calls(self) -> dict[str, int]:
        """Host -> number of module executions on it (results carrying the ``invocation`` a module echoes back)."""
        calls: dict[str, int] = {}
        for task in self.tasks():
            for host, result in task.get("hosts", {}).items():
                calls[host] = calls.get(host, 0) + _invocations(result)
        return calls


def _invocations(result: dict[str, Any]) -> int:
    if "results" in result:  # a loop: one execution per item
        return sum(_invocations(item) for item in result["results"])
    return 1 if "invocation" in result else 0


def _stamp(text: str) -> float:
    """Seconds of an ISO timestamp as the json callback writes it (``2026-01-01T00:00:00.123456Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This collection on the collection path, JSON results on stdout, no host key prompts, pipelining on."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(paths.collections_dir()),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "true",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PATH": f"{BIN}:{env.get('PATH', '')}",
    })
    env.update(extra or {})
    return env


def run(command: list[str], timeout: float = 1800, extra_env: dict[str, str] | None = None) -> Run:
    """Run an ansible command under ``/usr/bin/time -v`` (``extra_env`` over :func:`environment`); parse its JSON output."""
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=WORK, prefix="time-", suffix=".txt") as time_file:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", "-o", time_file.name, *command], env=environment(extra_env), capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=REPO)
        wall = time.perf_counter() - started
        usage = Path(time_file.name).read_text(encoding="utf-8")
        rss = _MAX_RSS.search(usage)
    try:
        output = json.loads(done.stdout[done.stdout.index("{"):]) if "{" in done.stdout else {}
    except json.JSONDecodeError:
        output = {}
    return Run(wall, int(rss.group(1)) if rss else 0, output, done.returncode, done.stderr,
               sum(float(seconds) for seconds in _CPU.findall(usage)))


def playbook(inventory: Path, path: Path, extra_vars: dict[str, Any] | None = None, forks: int = 5,
             extra_env: dict[str, str] | None = None) -> Run:
    """``ansible-playbook`` of ``path`` (check mode, where wanted, is set on the task)."""
    extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
    return run([str(BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), *extra, str(path)], extra_env=extra_env)


def adhoc(inventory: Path, pattern: str, module: str, args: str, forks: int = 5) -> Run:
    """Ad hoc ``ansible PATTERN -m MODULE -a ARGS``."""
    return run([str(BIN / "ansible"), pattern, "-i", str(inventory), "-f", str(forks), "-m", module, "-a", args])


def write_playbook(name: str, plays: list[dict[str, Any]]) -> Path:
    """Write a generated playbook (JSON is YAML) under .cache/bench and return its path."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.yml"
    path.write_text(json.dumps(plays, indent=2) + "\n", encoding="utf-8")
    return path
