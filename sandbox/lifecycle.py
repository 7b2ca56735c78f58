"""Bringing the fleet up (idempotently) and tearing it down without leftovers."""
import concurrent.futures
import contextlib
import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from . import hostctl, network, paths, registry
from .client import docker_client
from .engines import Engine, prepare
from .model import Fleet, Host
from .probes import with_descendants
from .proc import SandboxError, log, run
from .seed import SCENARIOS, seed_host
from .sshkeys import ensure_keypair

T = TypeVar("T")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise sandbox changes between processes."""
    state = paths.state_dir()
    state.mkdir(parents=True, exist_ok=True)
    with open(state / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _parallel(items: list[T], action: Callable[[T], object], workers: int = 4) -> None:
    """Run ``action`` on every item concurrently; raise one SandboxError listing all failures."""
    if not items:
        return
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = {pool.submit(action, item): item for item in items}
        for future in concurrent.futures.as_completed(futures):
            try:
                future.result()
            except Exception as exc:  # pylint: disable=broad-except
                failures.append(f"{getattr(futures[future], 'name', futures[future])}: {exc}")
    if failures:
        raise SandboxError("; ".join(sorted(failures)))


def _stable_lacks_containerd_store() -> bool:
    """Whether the machine's own engine predates the containerd image store (Debian 12's 20.10)."""
    version = run(["dockerd", "--version"]).stdout.split()
    return len(version) > 2 and int(version[2].split(".")[0]) < 24


def _cycle(values: list[str], index: int) -> str:
    return values[(index - 1) % len(values)]


def _check_choices(values: list[str], allowed: tuple[str, ...], what: str) -> None:
    bad = [value for value in values if value not in allowed]
    if bad or not values:
        raise SandboxError(f"invalid {what} {','.join(bad) or '(empty)'} (choose from {', '.join(allowed)})")


def _record_version(host: Host) -> None:
    client = docker_client(host, timeout=30)
    try:
        version = client.version()
    finally:
        client.close()
    host.engine_version, host.api_version = version.get("Version", ""), version.get("ApiVersion", "")


def _start(host: Host) -> None:
    hostctl.boot(host)
    hostctl.wait_ready(host)
    _record_version(host)
    log(f"{host.name}: up at {host.address}, docker {host.engine_version} ({host.store})")


def _add_hosts(fleet: Fleet, count: int, engines: list[Engine], stores: list[str], public_key: Path) -> list[Host]:
    """Create namespaces, links and files of hosts h1..h<count> that are not running; return them (not booted)."""
    new: list[Host] = []
    for index in range(1, count + 1):
        name, engine, store = f"h{index}", engines[(index - 1) % len(engines)], _cycle(stores, index)
        if (engine.key, store) == ("stable", "containerd") and _stable_lacks_containerd_store():
            raise SandboxError(f"{name}: the stable engine (docker 20.10) has no containerd image store")
        old = fleet.hosts.get(name)
        if old and hostctl.is_running(old):
            if (old.engine, old.store) != (engine.key, store):
                log(f"{name}: running with {old.engine}/{old.store}, not {engine.key}/{store}; left alone")
            continue
        if old:
            log(f"{name}: stale, recreating")
        _destroy(fleet.prefix, name, old)
        host = Host(name=name, index=index, address=paths.host_address(index), netns=paths.netns_name(fleet.prefix, name),
                    veth=paths.veth_name(fleet.prefix, name), engine=engine.key, store=store, cli=engine.cli, bin_dir=engine.bin_dir,
                    root=str(paths.hosts_dir() / name))
        network.add_host(fleet.prefix, name, host.address)
        hostctl.write_files(host, public_key)
        fleet.hosts[name] = host
        new.append(host)
    return new


def up(hosts: int, engines: list[str], stores: list[str], seed: int = 1,  # pylint: disable=too-many-arguments,too-many-positional-arguments
       scenario: str = "basic", prefix: str | None = None) -> Fleet:
    """Bring hosts h1..h<hosts> up (running hosts are left alone) and seed those not seeded yet."""
    _check_choices(engines, paths.ENGINES, "engine")
    _check_choices(stores, paths.STORES, "store")
    if scenario not in SCENARIOS:
        raise SandboxError(f"invalid scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    if hosts < 1:
        raise SandboxError("--hosts must be at least 1")
    prefix = prefix or paths.default_prefix()
    with locked():
        fleet = Fleet.load() if Fleet.exists() else Fleet(prefix=prefix)
        if fleet.prefix != prefix:
            raise SandboxError(f"a fleet with prefix {fleet.prefix!r} exists; run down first")
        found = {engine.key: engine for engine in prepare(engines)}
        key = ensure_keypair()
        fleet.ssh_key, fleet.python = str(key), sys.executable
        network.ensure_bridge(prefix)
        try:
            new = _add_hosts(fleet, hosts, [found[name] for name in engines], stores, Path(f"{key}.pub"))
            fleet.save()
            _parallel(new, _start)
            unseeded = [fleet.hosts[f"h{index}"] for index in range(1, hosts + 1) if not fleet.hosts[f"h{index}"].seed]
            _parallel(unseeded, lambda host: seed_host(host, seed, scenario), workers=3)
        finally:
            fleet.save()
        return fleet


def _destroy(prefix: str, name: str, host: Host | None) -> None:
    """Kill a host's processes and remove its namespace, link and folders."""
    netns = paths.netns_name(prefix, name)
    pids = network.netns_pids(netns)
    if host:
        hostctl.kill_host(host, pids)
    else:
        hostctl.terminate(with_descendants(pids), 10.0)
    network.remove_host(prefix, name)
    _remove_tree(paths.hosts_dir() / name)


def _mounts_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder`` in this mount namespace."""
    base = str(folder.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        points = [line.split()[4].replace("\\040", " ") for line in handle]
    return [point for point in points if point == base or point.startswith(base + "/")]


def _remove_tree(folder: Path) -> None:
    """Unmount anything left below ``folder`` and delete it."""
    if not folder.exists():
        return
    for point in sorted(_mounts_under(folder), key=len, reverse=True):
        log(f"unmounting leftover {point}")
        run(["umount", "-l", point])
    shutil.rmtree(folder)


def down(prefix: str | None = None) -> None:
    """Tear the whole sandbox down (processes, namespaces, links, bridge, state); keeps the engine cache."""
    state = paths.state_dir()
    with locked():
        fleet = Fleet.load() if Fleet.exists() else Fleet(prefix=prefix or paths.default_prefix())
        prefix = fleet.prefix
        names = set(fleet.hosts) | {netns[len(prefix) + 1:] for netns in network.sandbox_netns(prefix)}
        names |= {link[len(prefix) + 2:] for link in network.sandbox_links(prefix)}
        if names:
            log(f"stopping {', '.join(sorted(names))}")
        _parallel(sorted(names), lambda name: _destroy(prefix, name, fleet.hosts.get(name)), workers=8)
        registry.stop()
        network.remove_bridge(prefix)
        for leftover in (paths.hosts_dir(), paths.ssh_key().parent):
            _remove_tree(leftover)
        paths.fleet_file().unlink(missing_ok=True)
        (state / ".lock").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        os.rmdir(state)
    log("sandbox is down")
