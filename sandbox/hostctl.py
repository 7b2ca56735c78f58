"""Life of one host: its folders and scripts, booting it in its namespaces, starting/stopping its engine."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import docker

from . import registry
from .model import Host
from .network import NETNS_DIR
from .probes import engine_ping, pid_alive, read_pid, tcp_open, with_descendants
from .proc import SandboxError, log, run, wait_until
from .sshkeys import ensure_host_key, sshd_config

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
DOCKERD_FLAGS = "--bridge=none --iptables=false --ip-masq=false"
ENGINE_TIMEOUT = 60.0
SSHD_TIMEOUT = 20.0
# Where the modules keep their state by default (state_path): each sandbox host binds a folder of its own there.
STATE_MOUNT = "/var/lib/cachewarden"


def _search_path(host: Host) -> str:
    """PATH inside the host: the engine's own programs first."""
    return f"{host.bin_dir}:{SYSTEM_PATH}" if host.bin_dir else SYSTEM_PATH


def _write_script(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(["#!/bin/sh", *lines, ""]), encoding="utf-8")
    path.chmod(0o755)


def write_files(host: Host, public_key: Path) -> None:
    """Create the host's folders, engine and sshd configuration, and its boot scripts."""
    for folder in (host.run_dir, host.data_dir, host.state_dir, host.etc_dir, host.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    etc = host.etc_dir
    config: dict = {"features": {"containerd-snapshotter": True}} if host.store == "containerd" else {}
    config["insecure-registries"] = [registry.address()]  # the fleet's plain-HTTP registry (sandbox/registry.py)
    (etc / "daemon.json").write_text(json.dumps(config) + "\n", encoding="utf-8")
    ensure_host_key(etc)
    (etc / "authorized_keys").write_text(public_key.read_text(encoding="utf-8"), encoding="utf-8")
    path_env = f"{_search_path(host)}:/usr/local/sbin:/usr/local/bin"
    (etc / "sshd_config").write_text(sshd_config(host.address, etc, host.run_dir, path_env), encoding="utf-8")
    _write_script(etc / "engine.sh", [
        f"# Start the dockerd of sandbox host {host.name} in the background (inside its namespaces).",
        f"export PATH={_search_path(host)}",
        f"dockerd --config-file {etc / 'daemon.json'} {DOCKERD_FLAGS} </dev/null >>{host.log_dir / 'dockerd.log'} 2>&1 &",
    ])
    var_run = os.path.realpath("/var/run")
    _write_script(etc / "start.sh", [
        f"# Boot sandbox host {host.name}: private mounts, engine, then sshd in the foreground.",
        "set -e",
        "mount --make-rprivate /",
        f"mount --bind {host.run_dir} {var_run}",
        f"mount --bind {host.data_dir} /var/lib/docker",
        f"mount --bind {host.state_dir} {STATE_MOUNT}",
        "mkdir -p /run/sshd",
        str(etc / "engine.sh"),
        f"exec /usr/sbin/sshd -D -f {etc / 'sshd_config'} -E {host.log_dir / 'sshd.log'}",
    ])


def boot(host: Host) -> None:
    """Start the host's mount namespace, dockerd and sshd (returns without waiting for readiness)."""
    for mount_point in ("/var/lib/docker", STATE_MOUNT):
        Path(mount_point).mkdir(parents=True, exist_ok=True)
    with open(host.log_dir / "start.log", "ab") as out:
        subprocess.run(["setsid", "-f", "nsenter", f"--net={NETNS_DIR / host.netns}", "unshare", "-m", "--propagation", "private",
                        str(host.etc_dir / "start.sh")], stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(host: Host) -> None:
    """Wait for sshd (TCP on its address) and the engine (``/_ping``); record sshd's pid."""
    try:
        wait_until(lambda: tcp_open(host.address, 22, 0.5), SSHD_TIMEOUT, f"sshd of {host.name} on {host.address}:22")
        wait_until(lambda: engine_ping(host.socket), ENGINE_TIMEOUT, f"engine of {host.name} at {host.socket}")
    except SandboxError as exc:
        raise SandboxError(f"{exc}; start.log: {_log_tail(host.log_dir / 'start.log')}; "
                           f"dockerd.log: {_log_tail(host.log_dir / 'dockerd.log')}") from None
    host.sshd_pid = read_pid(str(host.run_dir / "sshd.pid"))


def is_running(host: Host) -> bool:
    """Whether the host's namespace and sshd (the holder of its mount namespace) are alive."""
    return (NETNS_DIR / host.netns).exists() and pid_alive(host.sshd_pid) and "sshd" in _cmdline(host.sshd_pid)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def start_engine(host: Host) -> None:
    """Start the host's dockerd again inside its network and mount namespaces and wait for ``/_ping``."""
    if engine_ping(host.socket):
        log(f"{host.name}: engine already running")
        return
    if not is_running(host):
        raise SandboxError(f"host {host.name} is not running (run: python -m sandbox up)")
    run(["nsenter", f"--net={NETNS_DIR / host.netns}", f"--mount=/proc/{host.sshd_pid}/ns/mnt",
         "setsid", "-f", str(host.etc_dir / "engine.sh")])
    wait_until(lambda: engine_ping(host.socket), ENGINE_TIMEOUT, f"engine of {host.name}")


def _kill_containers(host: Host) -> None:
    """Kill running containers through the API so the engine shuts down quickly and cleans up."""
    if not engine_ping(host.socket, 1.0):
        return
    try:
        client = docker.DockerClient(base_url=host.docker_host, version="auto", timeout=20)
        for container in client.containers.list():
            container.kill()
        client.close()
    except docker.errors.DockerException as exc:
        log(f"{host.name}: could not kill containers through the API: {exc}")


def terminate(pids: list[int], timeout: float) -> None:
    """SIGTERM ``pids``, wait up to ``timeout`` seconds, then SIGKILL what is left and wait for it."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        alive = [pid for pid in pids if pid_alive(pid)]
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in alive if pid_alive(pid)]
        if not alive:
            return
    raise SandboxError(f"processes would not die: {alive}")


def stop_engine(host: Host) -> None:
    """Stop the host's dockerd as a service stop would (it stops its containers) and wait for it to exit."""
    pid = read_pid(host.pidfile)
    if not pid_alive(pid):
        log(f"{host.name}: engine not running")
        return
    terminate([pid], 30.0)


def kill_host(host: Host, netns_pids: list[int]) -> None:
    """Stop everything of the host: containers, engine, then every process of its namespace and their children."""
    if pid_alive(read_pid(host.pidfile)):
        _kill_containers(host)
        stop_engine(host)
    terminate(with_descendants(netns_pids), 10.0)
