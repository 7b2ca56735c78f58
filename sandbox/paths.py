"""Names and locations of the sandbox: state dir, engine cache, addressing.

``CW_SANDBOX_SLOT`` (0-99, default 0) selects one of several fleets that can run side by side on
one machine: slot N has its own state dir, namespace prefix and subnet 10.231.N.0/24.
"""
import os
from pathlib import Path


def _slot() -> int:
    raw = os.environ.get("CW_SANDBOX_SLOT", "0") or "0"
    if not raw.isdigit() or not 0 <= int(raw) <= 99:
        raise ValueError(f"CW_SANDBOX_SLOT={raw!r}: expected a number 0..99")
    return int(raw)


SLOT = _slot()
DEFAULT_STATE_DIR = "/var/tmp/cachewarden-sandbox" + (f"-{SLOT}" if SLOT else "")
DEFAULT_PREFIX = f"cw{SLOT}" if SLOT else "cw"
SUBNET_PREFIX = f"10.231.{SLOT}"
GATEWAY = f"{SUBNET_PREFIX}.1"
NETMASK_BITS = 24
ENGINES = ("stable", "26.1", "28.5")
STORES = ("overlay2", "containerd")


def state_dir() -> Path:
    """Root of the sandbox state (``CW_SANDBOX_DIR``)."""
    return Path(os.environ.get("CW_SANDBOX_DIR", DEFAULT_STATE_DIR))


def fleet_file() -> Path:
    """Machine-readable description of the fleet."""
    return state_dir() / "fleet.json"


def hosts_dir() -> Path:
    """Parent folder of the per-host folders."""
    return state_dir() / "hosts"


def ssh_key() -> Path:
    """Private key shared by all sandbox hosts."""
    return state_dir() / "ssh" / "id_ed25519"


def engine_cache() -> Path:
    """Download cache of non-stable engines, kept across ``down``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cachewarden" / "engines"


def host_address(index: int) -> str:
    """Address of host ``h<index>`` (h1 -> .11, h2 -> .12, ...)."""
    if not 1 <= index <= 240:
        raise ValueError(f"host index {index} out of range 1..240")
    return f"{SUBNET_PREFIX}.{10 + index}"


def netns_name(prefix: str, name: str) -> str:
    """Network namespace of a host."""
    return f"{prefix}-{name}"


def veth_name(prefix: str, name: str) -> str:
    """Root-side veth of a host (kernel limit: 15 characters)."""
    result = f"{prefix}v-{name}"
    if len(result) > 15:
        raise ValueError(f"interface name {result!r} too long; use a shorter prefix")
    return result


def bridge_name(prefix: str) -> str:
    """Bridge joining all hosts of the sandbox."""
    return f"{prefix}br0"
