"""Save a host's engine data dir once and put it back before each destructive repetition.

The engine is stopped while its data dir is copied (``cp -a``), so the copy is consistent; its
containers with a restart policy are running again once it is back. Only the *contents* of the
data dir are replaced: the host's mount namespace binds that very folder over /var/lib/docker.

Restoring hard-links the layer store (``overlay2``, ``image``: files the engine writes once and
replaces atomically, or unlinks) instead of copying it, which makes it several times faster; the
rest (bolt databases, container logs and configs, volumes) is copied.
"""
import shutil
import subprocess
import time
from pathlib import Path

from sandbox import hostctl, paths
from sandbox.model import Host


def saved_dir(host: Host) -> Path:
    """Where the copy of ``host``'s data dir is kept (inside this slot's sandbox state, removed by ``down``)."""
    return paths.hosts_dir() / host.name / "bench-saved-data"


LINKED = ("overlay2", "image")


def _clear(folder: Path) -> None:
    entries = [str(entry) for entry in folder.iterdir()]
    if entries:
        subprocess.run(["rm", "-rf", "--one-file-system", *entries], check=True)


def _copy_contents(source: Path, target: Path) -> None:
    subprocess.run(["cp", "-a", "--reflink=auto", f"{source}/.", str(target)], check=True)


def _restore_contents(source: Path, target: Path) -> None:
    for entry in source.iterdir():
        mode = "-al" if entry.name in LINKED and entry.is_dir() else "-a"
        subprocess.run(["cp", mode, str(entry), str(target / entry.name)], check=True)


def save(host: Host) -> float:
    """Stop the engine, copy its data dir aside, start it again; return the seconds it took."""
    started = time.perf_counter()
    hostctl.stop_engine(host)
    target = saved_dir(host)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _copy_contents(host.data_dir, target)
    hostctl.start_engine(host)
    return time.perf_counter() - started


def restore(host: Host) -> float:
    """Stop the engine, replace its data dir by the saved copy, start it again; return the seconds it took."""
    started = time.perf_counter()
    hostctl.stop_engine(host)
    _clear(host.data_dir)
    _restore_contents(saved_dir(host), host.data_dir)
    hostctl.start_engine(host)
    return time.perf_counter() - started
