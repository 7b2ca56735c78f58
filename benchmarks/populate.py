"""Fill one sandbox engine at scale in minutes, without a registry.

Images: ``docker save``-format archives written in bulk (layers shared between images) and loaded
in batches. Containers and volumes: through the API with a thread pool. Build cache: BuildKit builds
made of many cheap ``COPY`` steps (no container runs). ``old`` images (created 60-400 days ago, the
dangling ones among them) are the unused set every prune of the benchmark removes; the others are
recent (created within 20 days) or used by a container.
"""
import concurrent.futures
import datetime
import io
import random
import tarfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import docker

from sandbox.builds import buildkit_build, context_tar
from sandbox.imagetar import FIXED_MTIME, ImageSpec, load_images, make_layer

from .scale import Scale

LABEL = "org.cachewarden.bench"
RUN_CMD = ["/bin/busybox", "sleep", "2147483"]
BUSYBOX = Path("/bin/busybox")
OLD_DAYS = (60, 400)
RECENT_DAYS = (0, 20)
NO_NET: dict[str, Any] = {"network_mode": "none"}


def busybox_layer() -> bytes:
    """A layer holding an executable /bin/busybox (``make_layer`` writes plain files only)."""
    data = BUSYBOX.read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        folder = tarfile.TarInfo("bin/")
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
        archive.addfile(folder)
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode, info.mtime = len(data), 0o755, FIXED_MTIME
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _parallel(items: Iterable[Any], action: Callable[[Any], object], workers: int = 8) -> list[Any]:
    """``action`` on every item with a thread pool; the first failure is raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(action, items))


class Populator:
    """Makes the content of one :class:`Scale` on the engine behind ``client``; ``timings`` holds seconds per part."""

    def __init__(self, client: docker.DockerClient, scale: Scale, seed: int = 1) -> None:
        self.client = client
        self.scale = scale
        self.rng = random.Random(seed)
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.timings: dict[str, float] = {}
        self.recent_tags: list[str] = []

    def _timed(self, part: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        action()
        self.timings[part] = time.perf_counter() - started

    def run(self) -> dict[str, float]:
        """Images, volumes, containers, build cache; return the seconds each part took."""
        self._timed("images", self.images)
        self._timed("volumes", self.volumes)
        self._timed("containers", self.containers)
        self._timed("build_cache", self.build_cache)
        self.timings["total"] = sum(self.timings.values())
        return self.timings

    def _ago(self, days: tuple[int, int]) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.rng.randint(*days), minutes=self.rng.randint(0, 1439))

    def _builds(self) -> int:
        return -(-self.scale.cache_records // self.scale.steps_per_build)

    def image_specs(self) -> list[ImageSpec]:
        """Old (dangling first) then recent images; recent ones carry busybox so containers can run them."""
        scale, rng = self.scale, self.rng
        runnable = busybox_layer()
        bases = [make_layer({"/etc/os-release": f"ID=bench-{i}\n".encode(), "/lib/base.bin": rng.randbytes(rng.randint(20_000, 60_000))})
                 for i in range(8)]
        mids = [make_layer({f"/usr/lib/mid{i}.bin": rng.randbytes(rng.randint(5_000, 30_000))}) for i in range(60)]
        labels = {LABEL: "1"}
        specs = []
        for i in range(scale.old_images):
            own = make_layer({"/app": rng.randbytes(rng.randint(500, 3_000))})
            if i < scale.dangling:
                specs.append(ImageSpec([], [rng.choice(bases), own], self._ago(OLD_DAYS), dict(labels)))
            else:
                specs.append(ImageSpec([f"bench/old{i % 40}:{i}"], [rng.choice(bases), rng.choice(mids), own],
                                       self._ago(OLD_DAYS), dict(labels)))
        for i in range(scale.images - scale.old_images - self._builds()):
            tag = f"bench/svc{i % 40}:{i}"
            own = make_layer({"/app": rng.randbytes(rng.randint(500, 3_000))})
            specs.append(ImageSpec([tag], [runnable, rng.choice(mids), own], self._ago(RECENT_DAYS), dict(labels), cmd=RUN_CMD))
            self.recent_tags.append(tag)
        return specs

    def images(self) -> None:
        """Load all images, two archives at a time."""
        specs = self.image_specs()
        batches = [specs[i:i + 250] for i in range(0, len(specs), 250)]
        _parallel(batches, lambda batch: load_images(self.client, batch), workers=2)

    def volumes(self) -> None:
        """Named volumes; the first ``mounted_volumes`` get mounted by containers."""
        _parallel(range(self.scale.volumes), lambda i: self.client.api.create_volume(f"bench-v{i}", labels={LABEL: "1"}))

    def containers(self) -> None:
        """Created, exited and running containers on recent images (30 % of them pinned), some mounting volumes."""
        api, scale = self.client.api, self.scale
        pinned = self.recent_tags[:max(1, len(self.recent_tags) * 3 // 10)]

        def create(i: int) -> None:
            running = i < scale.running
            binds = [f"bench-v{i}:/data"] if i < scale.mounted_volumes else []
            host_config = api.create_host_config(binds=binds, restart_policy={"Name": "always"} if running else None, **NO_NET)
            command = RUN_CMD if running else ["/bin/busybox", "true"]
            container = api.create_container(pinned[i % len(pinned)], command, name=f"bench-c{i}", labels={LABEL: "1"},
                                             stop_signal="SIGKILL", host_config=host_config)
            if i < scale.running + scale.exited:
                api.start(container)
                if not running:
                    api.wait(container, timeout=60)

        _parallel(range(scale.containers), create, workers=4)

    def build_cache(self) -> None:
        """BuildKit builds of ``steps_per_build`` COPY steps each, until ``cache_records`` records exist."""
        steps = self.scale.steps_per_build

        def build(number: int) -> None:
            files = {f"f{step}": f"{number}-{step}-{self.rng.random()}".encode() for step in range(steps)}
            dockerfile = "FROM scratch\n" + "".join(f"COPY f{step} /f{step}\n" for step in range(steps))
            result = buildkit_build(self.client, context_tar(dockerfile, files), f"bench/bk:{number}")
            if not result.ok:
                raise RuntimeError(f"BuildKit build {number} failed: {result.error}")

        _parallel(range(self._builds()), build, workers=2)


def counts(client: docker.DockerClient) -> dict[str, int]:
    """What the engine holds now (``GET /system/df`` plus the dangling image count)."""
    df = client.api.df()
    return {
        "images": len(df.get("Images") or []),
        "dangling": len(client.api.images(filters={"dangling": True}, quiet=True)),
        "containers": len(df.get("Containers") or []),
        "running": sum(1 for item in df.get("Containers") or [] if item.get("State") == "running"),
        "volumes": len(df.get("Volumes") or []),
        "build_cache": len(df.get("BuildCache") or []),
    }
