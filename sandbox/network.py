"""Network plumbing: one bridge in the root namespace, one namespace plus veth pair per host."""
import json
from pathlib import Path

from . import paths
from .proc import run

NETNS_DIR = Path("/run/netns")


def in_netns(netns: str, *cmd: str) -> list[str]:
    """Command line running ``cmd`` in a network namespace (nsenter keeps /sys and cgroups intact)."""
    return ["nsenter", f"--net={NETNS_DIR / netns}", *cmd]


def link_exists(name: str) -> bool:
    """Whether a network interface exists in the root namespace."""
    return Path("/sys/class/net", name).exists()


def netns_exists(netns: str) -> bool:
    """Whether a named network namespace exists."""
    return (NETNS_DIR / netns).exists()


def ensure_bridge(prefix: str) -> None:
    """Create the sandbox bridge with the gateway address if it is missing."""
    bridge = paths.bridge_name(prefix)
    if not link_exists(bridge):
        run(["ip", "link", "add", bridge, "type", "bridge"])
    addresses = run(["ip", "-o", "-4", "addr", "show", "dev", bridge]).stdout
    if f" {paths.gateway()}/" not in addresses:
        run(["ip", "addr", "add", f"{paths.gateway()}/{paths.NETMASK_BITS}", "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def add_host(prefix: str, name: str, address: str) -> None:
    """Create the host's namespace and its veth pair (eth0 inside, root side on the bridge).

    No default route: a host reaches only the sandbox subnet, so nothing inside can contact the outside.
    """
    netns, veth = paths.netns_name(prefix, name), paths.veth_name(prefix, name)
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "master", paths.bridge_name(prefix), "up"])
    run(in_netns(netns, "ip", "addr", "add", f"{address}/{paths.NETMASK_BITS}", "dev", "eth0"))
    run(in_netns(netns, "ip", "link", "set", "eth0", "up"))
    run(in_netns(netns, "ip", "link", "set", "lo", "up"))


def remove_host(prefix: str, name: str) -> None:
    """Delete the host's veth pair and namespace (missing parts are fine)."""
    netns, veth = paths.netns_name(prefix, name), paths.veth_name(prefix, name)
    if link_exists(veth):
        run(["ip", "link", "del", veth])
    if netns_exists(netns):
        run(["ip", "netns", "del", netns])


def remove_bridge(prefix: str) -> None:
    """Delete the sandbox bridge if present."""
    bridge = paths.bridge_name(prefix)
    if link_exists(bridge):
        run(["ip", "link", "del", bridge])


def set_link(veth: str, up: bool) -> None:
    """Bring a host's root-side link up or down."""
    run(["ip", "link", "set", veth, "up" if up else "down"])


def link_is_up(veth: str) -> bool:
    """Whether a host's root-side link is administratively up."""
    if not link_exists(veth):
        return False
    info = json.loads(run(["ip", "-j", "link", "show", "dev", veth]).stdout)
    return bool(info) and "UP" in info[0].get("flags", [])


def sandbox_netns(prefix: str) -> list[str]:
    """Names of existing namespaces belonging to the sandbox."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(path.name for path in NETNS_DIR.iterdir() if path.name.startswith(f"{prefix}-h"))


def sandbox_links(prefix: str) -> list[str]:
    """Root-side veths belonging to the sandbox."""
    return sorted(path.name for path in Path("/sys/class/net").iterdir() if path.name.startswith(f"{prefix}v-h"))


def netns_pids(netns: str) -> list[int]:
    """Processes living in a network namespace."""
    if not netns_exists(netns):
        return []
    return [int(word) for word in run(["ip", "netns", "pids", netns]).stdout.split()]
