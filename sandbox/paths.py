"""Names and locations of the sandbox and of this checkout: state dir, engine cache, addressing, slots.

``CW_SANDBOX_SLOT`` (0-99, default 0) selects one of several fleets that can run side by side on
one machine: slot N has its own state dir, namespace prefix and subnet 10.231.N.0/24. Everything
here is read when called, so setting the variable any time before a call is enough.
"""
import os
from pathlib import Path
from typing import Mapping

# Who uses which sandbox slot: the one table (the Makefile, molecule and the integration tests read it).
# Integration workers take INTEGRATION, INTEGRATION + 1, ...; developers pick their own with CW_SANDBOX_SLOT.
SLOTS = {"demo": 0, "molecule": 2, "bench": 5, "integration": 6}
NETMASK_BITS = 24
ENGINES = ("stable", "26.1", "28.5")
STORES = ("overlay2", "containerd")


def _parse_slot(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 99:
        raise ValueError(f"CW_SANDBOX_SLOT={raw!r}: expected a number 0..99")
    return int(raw)


def slot() -> int:
    """The sandbox slot of this process (``CW_SANDBOX_SLOT``, default 0: the demo fleet)."""
    return _parse_slot(os.environ.get("CW_SANDBOX_SLOT", "0") or "0")


def test_run_slot(environ: Mapping[str, str]) -> int:
    """The slot of a test process: ``CW_SANDBOX_SLOT`` (else the integration slot) plus the pytest-xdist worker
    index. The demo fleet's slot is refused, so a ``CW_SANDBOX_SLOT=0`` left in a shell cannot wipe it."""
    raw = environ.get("CW_SANDBOX_SLOT") or str(SLOTS["integration"])
    base = _parse_slot(raw)
    if base == SLOTS["demo"]:
        raise ValueError(f"CW_SANDBOX_SLOT={raw}: slot {base} is the demo fleet, which the tests would reset; "
                         f"unset CW_SANDBOX_SLOT (the tests use {SLOTS['integration']}) or pick a free slot")
    return base + int(environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)


def default_prefix() -> str:
    """Prefix of the namespaces and links of this slot's fleet."""
    return f"cw{slot()}" if slot() else "cw"


def subnet_prefix() -> str:
    """First three octets of this slot's subnet."""
    return f"10.231.{slot()}"


def gateway() -> str:
    """The machine's address on this slot's bridge."""
    return f"{subnet_prefix()}.1"


def repo_root() -> Path:
    """This checkout."""
    return Path(__file__).resolve().parents[1]


def collections_dir() -> Path:
    """The symlink farm that makes this checkout ``ansible_collections/cachewarden/docker`` (make collection)."""
    return repo_root() / ".cache" / "collections"


def state_dir() -> Path:
    """Root of the sandbox state (``CW_SANDBOX_DIR``)."""
    default = "/var/tmp/cachewarden-sandbox" + (f"-{slot()}" if slot() else "")
    return Path(os.environ.get("CW_SANDBOX_DIR", default))


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
    return f"{subnet_prefix()}.{10 + index}"


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
