"""Populated and saved engines: fill a host at a scale once, then start every measurement from its saved copy."""
import concurrent.futures
import json
import time
from pathlib import Path
from typing import Any

from sandbox.client import docker_client
from sandbox.model import Host
from sandbox.wipe import wipe_client

from . import engine_copy
from .populate import Populator, counts
from .scale import Scale


def _record(host: Host) -> Path:
    return engine_copy.saved_dir(host).with_name("bench-population.json")


def image_count(host: Host) -> int:
    """Images on ``host``'s engine now (``docker images -a``)."""
    client = docker_client(host)
    try:
        return len(client.api.images(all=True, quiet=True))
    finally:
        client.close()


class Stock:
    """Saved populations: a host is filled again only when its saved copy holds another scale, or was not made by
    this run and ``reuse`` is off."""

    def __init__(self, reuse: bool) -> None:
        self.reuse = reuse
        self.made: dict[str, str] = {}  # host name -> scale this run saved

    def _saved(self, host: Host, scale: Scale) -> dict[str, Any] | None:
        path = _record(host)
        if not path.is_file() or (self.made.get(host.name) != str(scale) and not self.reuse):
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        return record["population"] if record["scale"] == str(scale) else None

    def populate(self, host: Host, scale: Scale, seed: int = 1, restore: bool = True) -> dict[str, Any]:
        """A saved copy of ``host``'s engine at ``scale``, and the engine holding it (restored from a copy it had
        already, unless ``restore`` is off: the caller restores before each use); its counts and the seconds of each step."""
        saved = self._saved(host, scale)
        if saved is not None:
            if restore:
                engine_copy.restore(host)
            return saved
        client = docker_client(host, timeout=900)
        try:
            started = time.perf_counter()
            wipe_client(client)
            timings = {"wipe (before)": time.perf_counter() - started}
            timings.update(Populator(client, scale, seed=seed).run())
            found = counts(client)
        finally:
            client.close()
        timings["save the data dir (engine stopped)"] = engine_copy.save(host)
        population = {"counts": found, "timings": timings}
        _record(host).write_text(json.dumps({"scale": str(scale), "population": population}), encoding="utf-8")
        self.made[host.name] = str(scale)
        return population

    def populate_many(self, hosts: list[Host], scale: Scale, workers: int = 4) -> None:
        """A saved copy of every host's engine at ``scale`` (seeded by its index); the callers restore before each use."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda host: self.populate(host, scale, seed=host.index, restore=False), hosts))
