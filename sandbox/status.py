"""Table of the fleet's hosts and their live state."""
from .hostctl import is_running
from .model import Fleet
from .network import link_is_up
from .probes import engine_ping

COLUMNS = ("HOST", "ADDRESS", "ENGINE", "LINK", "VERSION", "STORE", "SSHD")


def rows(fleet: Fleet) -> list[tuple[str, ...]]:
    """One row per host: name, address, engine up/down, link up/down, docker version, store, sshd up/down."""
    return [(host.name, host.address, "up" if engine_ping(host.socket, 1.0) else "down", "up" if link_is_up(host.veth) else "down",
             host.engine_version or host.engine, host.store, "up" if is_running(host) else "down") for host in fleet.sorted_hosts()]


def render(fleet: Fleet) -> str:
    """The status table as text."""
    table = [COLUMNS, *rows(fleet)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table) + "\n"
