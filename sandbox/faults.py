"""Faults for tests: stop/start a host's engine, pull its link down/up."""
from . import hostctl, network
from .model import Fleet
from .probes import tcp_open
from .proc import SandboxError, log, wait_until

FAULTS = ("engine-stop", "engine-start", "link-down", "link-up")


def inject(fleet: Fleet, fault: str, name: str) -> None:
    """Apply ``fault`` to host ``name``."""
    host = fleet.host(name)
    if fault == "engine-stop":
        hostctl.stop_engine(host)
    elif fault == "engine-start":
        hostctl.start_engine(host)
    elif fault == "link-down":
        network.set_link(host.veth, up=False)
    elif fault == "link-up":
        network.set_link(host.veth, up=True)
        wait_until(lambda: tcp_open(host.address, 22, 0.5), 20, f"{host.name} reachable again")
    else:
        raise SandboxError(f"unknown fault {fault!r} (choose from {', '.join(FAULTS)})")
    log(f"{host.name}: {fault} done")
