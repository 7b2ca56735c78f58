"""A local image registry for the fleet: Debian's ``docker-registry`` (2.8) on the sandbox gateway.

Hosts reach it at ``GATEWAY:PORT`` (10.231.N.1:5231 in slot N) over their veth; every host's daemon.json
lists that address in ``insecure-registries`` (plain HTTP). The registry keeps its blobs under the sandbox
state dir, is started on first use (:func:`ensure`, idempotent) and stopped by ``python -m sandbox down``.
"""
import contextlib
import fcntl
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from . import paths
from .probes import pid_alive, read_pid
from .proc import SandboxError, log, run, wait_until

PORT = 5231  # not 5000: a packaged registry service started by systemd would take *:5000
PACKAGE = "docker-registry"
PROGRAM = "/usr/bin/docker-registry"
START_TIMEOUT = 20.0
_THREAD_LOCK = threading.Lock()


def address() -> str:
    """``HOST:PORT`` of the slot's registry, as engines name it in image references."""
    return f"{paths.gateway()}:{PORT}"


def registry_dir() -> Path:
    """Folder of the registry's configuration, storage, log and pid file."""
    return paths.state_dir() / "registry"


def _pidfile() -> Path:
    return registry_dir() / "registry.pid"


def ensure_package() -> None:
    """Install Debian's docker-registry with apt when it is missing (as engines.prepare_system does)."""
    if os.access(PROGRAM, os.X_OK):
        return
    log(f"installing {PACKAGE} (missing: {PROGRAM})")
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
    if run([*env_cmd, "apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE], check=False).returncode != 0:
        run(["apt-get", "update", "-q"])
        run([*env_cmd, "apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE])


def _config() -> str:
    storage = registry_dir() / "storage"
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {address()}\n"
    )


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy: the gateway only


def answers(timeout: float = 1.0) -> bool:
    """Whether ``GET /v2/`` on the registry answers 200."""
    try:
        with _DIRECT.open(f"http://{address()}/v2/", timeout=timeout) as response:  # nosec: sandbox address
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _own_pid() -> int:
    """Pid of the running registry started by the sandbox, or 0."""
    pid = read_pid(str(_pidfile()))
    if not pid_alive(pid):
        return 0
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return 0
    return pid if cmdline and cmdline[0].endswith(b"docker-registry") and str(registry_dir()).encode() in b" ".join(cmdline) else 0


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    folder = registry_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure() -> str:
    """Start the registry unless it already runs; return its ``HOST:PORT``. Needs the fleet's bridge (the gateway)."""
    with _THREAD_LOCK, _file_lock(".start.lock"):
        if _own_pid() and answers():
            return address()
        ensure_package()
        folder = registry_dir()
        (folder / "storage").mkdir(parents=True, exist_ok=True)
        config = folder / "config.yml"
        config.write_text(_config(), encoding="utf-8")
        old = _own_pid()
        if old:
            _terminate(old)
        if answers():
            raise SandboxError(f"something else serves a registry at {address()} (another state dir of slot {paths.slot()}?)")
        with open(folder / "registry.log", "ab") as out:
            process = subprocess.Popen([PROGRAM, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=out, stderr=out,  # pylint: disable=consider-using-with
                                       start_new_session=True, cwd=folder)
        _pidfile().write_text(f"{process.pid}\n", encoding="utf-8")
        try:
            wait_until(lambda: process.poll() is not None or answers(), START_TIMEOUT, f"registry at {address()}")
            if process.poll() is not None:
                raise SandboxError(f"exited with {process.returncode}")
        except SandboxError:
            tail = (folder / "registry.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            if process.poll() is None:
                _terminate(process.pid)
            raise SandboxError(f"registry did not start at {address()}: {' | '.join(tail)}") from None
        log(f"registry: serving at {address()} (pid {process.pid}, storage {folder / 'storage'})")
        return address()


def _terminate(pid: int) -> None:
    # hostctl imports docker: only when a registry must be stopped
    from .hostctl import terminate  # pylint: disable=import-outside-toplevel
    terminate([pid], 10.0)


def stop(remove_data: bool = True) -> None:
    """Stop the registry started by the sandbox (if any) and delete its folder when ``remove_data``."""
    pid = _own_pid()
    if pid:
        _terminate(pid)
        log(f"registry: stopped (pid {pid})")
    if remove_data:
        shutil.rmtree(registry_dir(), ignore_errors=True)


@contextlib.contextmanager
def push_lock() -> Iterator[None]:
    """Serialise tag-push-remove-pull round trips: hosts seeded alike push the same names with different content."""
    with _file_lock(".push.lock"):
        yield
