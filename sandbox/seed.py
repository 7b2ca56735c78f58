"""Content for a host's engine: scenario ``basic`` (deterministic, made through the API without a registry) and ``random`` (sandbox/randomcache.py)."""
import datetime
import random
import time
from typing import Any

import docker

from .builds import BUSYBOX_DOCKERFILE, buildkit_build, context_tar, legacy_build
from .client import docker_client
from .imagetar import ImageSpec, load_images, make_layer
from .model import Host
from .proc import SandboxError, log
from .wipe import wipe_client

SCENARIOS = ("basic", "random", "none")
BASE = "registry.example.com/base/alpine-ish"
ABSENT_BASE = "registry.example.com/base/debian-ish:11"
BUSYBOX_IMAGE = "cw/busybox:latest"
NO_NET: dict[str, Any] = {"network_mode": "none"}


class _Seeder:
    """Builds the ``basic`` scenario on one engine; ``report`` collects what was made and what behaved differently."""

    def __init__(self, client: docker.DockerClient, seed: int) -> None:
        self.client = client
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.labels = {"org.cachewarden.sandbox.seed": str(seed), "org.cachewarden.sandbox.scenario": "basic"}
        self.report: dict[str, Any] = {"seed": seed, "scenario": "basic", "notes": []}

    def _note(self, text: str) -> None:
        log(f"seed: {text}")
        self.report["notes"].append(text)

    def _blob(self, low: int, high: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(low, high))

    def _days_ago(self, low: int, high: int) -> datetime.datetime:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high), minutes=self.rng.randint(0, 1439))

    def loaded_images(self) -> None:
        """Tagged versions of several repositories sharing base layers, plus dangling ones, via ``POST /images/load``."""
        base_os = make_layer({"/etc/os-release": b"ID=alpine-ish\n", "/lib/base.bin": self._blob(48_000, 96_000)})
        runtime = make_layer({"/usr/lib/runtime.bin": self._blob(32_000, 64_000)})
        specs = [
            ImageSpec([f"{BASE}:3.17"], [base_os], self._days_ago(200, 240), dict(self.labels)),
            ImageSpec([f"{BASE}:3.18", f"{BASE}:latest"], [base_os, make_layer({"/etc/patch": self._blob(500, 900)})],
                      self._days_ago(150, 180), dict(self.labels)),
        ]
        versions = [("1.0", 90, 120, "3.17"), ("1.1", 45, 60, "3.18"), ("2.0", 5, 15, "3.18")]
        older: list[ImageSpec] = []  # earlier builds of 1.0, left dangling when the later 1.0 takes the tag
        for repo in ("cw/app", "cw/web"):
            older.append(ImageSpec([f"{repo}:1.0"], [base_os, runtime, make_layer({"/app": self._blob(4_000, 8_000)})],
                                   self._days_ago(121, 140), dict(self.labels)))
            for version, low, high, base in versions:
                tags = [f"{repo}:{version}"] + ([f"{repo}:latest"] if version == "2.0" else [])
                layer = make_layer({"/app": self._blob(8_000, 16_000), "/VERSION": version.encode()})
                specs.append(ImageSpec(tags, [base_os, runtime, layer], self._days_ago(low, high),
                                       {**self.labels, "base_image": f"{BASE}:{base}"}))
        specs.append(ImageSpec(["cw/tools:0.9"], [make_layer({"/tool": self._blob(2_000, 4_000)})], self._days_ago(300, 330),
                               {**self.labels, "base_image": ABSENT_BASE}))
        specs.append(ImageSpec(["cw/tools:1.0"], [base_os, make_layer({"/tool": self._blob(2_000, 4_000)})], self._days_ago(60, 80),
                               {**self.labels, "base_image": f"{BASE}:3.18"}))
        for _copy in range(2):
            specs.append(ImageSpec([], [base_os, make_layer({"/junk": self._blob(1_000, 3_000)})], self._days_ago(30, 200), dict(self.labels)))
        # separate loads: docker 26.1 on the containerd store loses layers when one archive re-uses a tag
        load_images(self.client, older)
        load_images(self.client, specs)
        self.report["loaded_images"] = len(older) + len(specs)

    def legacy_images(self) -> None:
        """Busybox base and images built on it with the legacy builder (intermediate images, a re-tag leaving a dangling image)."""
        result = legacy_build(self.client, context_tar(BUSYBOX_DOCKERFILE), BUSYBOX_IMAGE)
        if not result.ok:
            self._note(f"legacy builder failed ({result.error}); building {BUSYBOX_IMAGE} with BuildKit instead")
            result = buildkit_build(self.client, context_tar(BUSYBOX_DOCKERFILE), BUSYBOX_IMAGE)
            if not result.ok:
                raise SandboxError(f"cannot build {BUSYBOX_IMAGE}: {result.error}")
            self.report["legacy_builder"] = False
            return
        self.report["legacy_builder"] = True
        tools = (f"FROM {BUSYBOX_IMAGE}\nLABEL base_image={BUSYBOX_IMAGE} org.cachewarden.sandbox.seed={self.seed}\n"
                 "RUN mkdir -p /etc && echo tools-2.0 > /etc/tool-version\nVOLUME /cache\nCMD [\"true\"]\n")
        self._require(legacy_build(self.client, context_tar(tools), "cw/tools:2.0"), "cw/tools:2.0")
        for round_ in (1, 2):
            dev = f"FROM {BUSYBOX_IMAGE}\nLABEL base_image={BUSYBOX_IMAGE}\nRUN echo dev-{self.seed}-{round_} > /dev-build\n"
            self._require(legacy_build(self.client, context_tar(dev), "cw/tools:dev"), "cw/tools:dev")
            if round_ == 1:
                self.client.api.create_container("cw/tools:dev", ["true"], name="cw-pins-dangling", host_config=self.client.api.create_host_config(**NO_NET))
        all_ids = {image["Id"] for image in self.client.api.images(all=True)}
        top_ids = {image["Id"] for image in self.client.api.images()}
        self.report["intermediate_images"] = len(all_ids - top_ids)
        if not self.report["intermediate_images"]:
            self._note("no intermediate images visible with images?all=1 (expected on the containerd store)")

    @staticmethod
    def _require(result, what: str) -> None:
        if not result.ok:
            raise SandboxError(f"build of {what} failed: {result.error}")

    def buildkit_cache(self) -> None:
        """BuildKit builds through the API, one of them failing after cached steps, so the build cache has records."""
        steps = f"{BUSYBOX_DOCKERFILE}RUN echo seed-{self.seed} > /seed.txt\nCOPY data.bin /data.bin\n"
        files = {"data.bin": self._blob(20_000, 40_000)}
        ok = buildkit_build(self.client, context_tar(steps, files), "cw/bk-app:1.0")
        failed = buildkit_build(self.client, context_tar(steps + 'RUN ["/bin/sh","-c","exit 1"]\n', files), "cw/bk-app:broken")
        if not ok.ok:
            self._note(f"BuildKit build failed: {ok.error}")
        if failed.ok:
            self._note("BuildKit build meant to fail succeeded")
        records = self._build_cache_records()
        self.report["build_cache_records"] = records
        if not records:
            self._note("BuildKit left no build cache records")

    def _build_cache_records(self) -> int:
        """Number of build cache records; retried because docker 28.5 on the containerd store may report a
        snapshot of the just-failed build as missing ("snapshot ... does not exist") for a moment."""
        for attempt in range(10):
            try:
                return len(self.client.api.df().get("BuildCache") or [])
            except docker.errors.NotFound:
                time.sleep(0.2 * (attempt + 1))
        raise SandboxError("GET /system/df keeps failing with a missing snapshot")

    def containers_and_volumes(self) -> None:
        """Running, created and exited containers pinning images; named and anonymous volumes, used and unused."""
        api = self.client.api
        for name in ("cw-unused-1", "cw-unused-2"):
            self.client.volumes.create(name, labels=dict(self.labels))
        running = api.create_container(BUSYBOX_IMAGE, ["sleep", "2147483"], name="cw-running", volumes=["/scratch"], labels=dict(self.labels),
                                       stop_signal="SIGKILL",
                                       host_config=api.create_host_config(binds=["cw-data-used:/data"], restart_policy={"Name": "always"}, **NO_NET))
        api.start(running)
        api.create_container("cw/app:1.0", ["/app"], name="cw-created", labels=dict(self.labels), host_config=api.create_host_config(**NO_NET))
        script = f"yes cachewarden-{self.seed} | head -c {self.rng.randint(100_000, 300_000)} > /cache/blob"
        image = "cw/tools:2.0" if self.report.get("legacy_builder") else BUSYBOX_IMAGE
        for name, command, binds in (("cw-exited-ok", ["sh", "-c", script], ["cw-data-stopped:/data"]), ("cw-exited-fail", ["sh", "-c", "exit 3"], [])):
            container = api.create_container(image, command, name=name, volumes=["/cache"], labels=dict(self.labels),
                                             host_config=api.create_host_config(binds=binds, **NO_NET))
            api.start(container)
            api.wait(container, timeout=60)
        orphan = api.create_container(BUSYBOX_IMAGE, ["true"], volumes=["/orphan"], host_config=api.create_host_config(**NO_NET))
        api.remove_container(orphan, v=False)

    def networks(self) -> None:
        """A couple of unused user-defined networks (bridge driver; macvlan on eth0 when bridge is refused)."""
        for name in ("cw-net-unused-1", "cw-net-unused-2"):
            try:
                self.client.networks.create(name, driver="bridge", labels=dict(self.labels))
                driver = "bridge"
            except docker.errors.APIError as exc:
                self._note(f"bridge network {name} refused ({exc.explanation}); using macvlan")
                self.client.networks.create(name, driver="macvlan", options={"parent": "eth0"}, labels=dict(self.labels))
                driver = "macvlan"
            self.report["network_driver"] = driver


def seed_client(client: docker.DockerClient, seed: int, scenario: str = "basic") -> dict[str, Any]:
    """Make scenario content on the engine behind ``client``; return a report of what was made."""
    if scenario not in SCENARIOS:
        raise SandboxError(f"unknown scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    if scenario == "none":
        return {"seed": seed, "scenario": scenario}
    if scenario == "random":
        return _seed_random(client, seed)
    seeder = _Seeder(client, seed)
    seeder.loaded_images()
    seeder.legacy_images()
    seeder.buildkit_cache()
    seeder.containers_and_volumes()
    seeder.networks()
    return seeder.report


def _seed_random(client: docker.DockerClient, seed: int) -> dict[str, Any]:
    """Scenario ``random`` (sandbox/randomcache.py) with the fleet's registry, started on first use."""
    from . import randomcache, registry  # pylint: disable=import-outside-toplevel
    try:
        address = registry.ensure()
    except SandboxError as exc:
        log(f"seed: no registry ({exc}); random cache without pushed/pulled images")
        address = None
    return randomcache.seed_random(client, seed, address)


def seed_host(host: Host, seed: int = 1, scenario: str = "basic") -> dict[str, Any]:
    """Seed ``host`` once; a second call with the same seed and scenario does nothing (result kept in ``host.seed``)."""
    if host.seed and host.seed.get("scenario") != "none":
        if (host.seed.get("seed"), host.seed.get("scenario")) == (seed, scenario):
            log(f"{host.name}: already seeded (seed {seed}, scenario {scenario})")
            return host.seed
        raise SandboxError(f"{host.name} already holds seed {host.seed.get('seed')} scenario {host.seed.get('scenario')}; "
                           "run down/up to start over")
    log(f"{host.name}: seeding scenario {scenario} with seed {seed}")
    client = docker_client(host, timeout=300)
    try:
        host.seed = seed_client(client, seed, scenario)
    finally:
        client.close()
    return host.seed


def reset_host(host: Host, seed: int = 1, scenario: str = "basic") -> dict[str, Any]:
    """Wipe ``host``'s engine and seed it again: the same seed gives the same content again."""
    log(f"{host.name}: wiping and seeding scenario {scenario} with seed {seed}")
    client = docker_client(host, timeout=300)
    try:
        wipe_client(client)
        host.seed = seed_client(client, seed, scenario)
    finally:
        client.close()
    return host.seed
