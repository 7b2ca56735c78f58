"""What the page says about the machine and the engine the figures come from."""
import os
import platform
from pathlib import Path
from typing import Any

from sandbox.client import docker_client
from sandbox.model import Host


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> dict[str, Any]:
    """CPU, memory, kernel, OS, Python, load average now."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
                      if line.startswith("MemTotal")))
    return {"CPU": f"{cpu} ({os.cpu_count()} cores)", "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "kernel": platform.release(), "OS": platform.freedesktop_os_release().get("PRETTY_NAME", "?"),
            "Python": platform.python_version(), "load average at start": load_average()}


def _version(host: Host) -> tuple[dict[str, Any], dict[str, Any]]:
    client = docker_client(host)
    try:
        return client.version(), client.info()
    finally:
        client.close()


def _label(version: dict[str, Any]) -> str:
    return f"Docker {version.get('Version')} (API {version.get('ApiVersion')})"


def engine_label(host: Host) -> str:
    """``Docker 28.5.2+dfsg4 (API 1.51)``."""
    return _label(_version(host)[0])


def engine(host: Host) -> dict[str, Any]:
    """The engine, its containerd, storage driver, and the controller's ansible-core."""
    version, info = _version(host)
    components = {item.get("Name"): item.get("Version") for item in version.get("Components") or []}
    return {"engine": _label(version),
            "containerd": components.get("containerd", "?"), "storage driver": info.get("Driver"),
            "ansible-core": _ansible_version()}


def _ansible_version() -> str:
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel
    return __version__
