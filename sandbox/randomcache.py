"""Random Docker caches from a seed number (scenario ``random``), for differential tests of the prune module.

:func:`seed_random` fills an engine with a cache whose structure derives only from the seed: the same seed
on two engines of the same version and image store gives the same tags, the same containers, volumes and
networks (names and states) and the same number of images. What the engine stamps itself (image IDs of
builds, build dates, container IDs, anonymous volume names) differs between runs; image dates of loaded
images are seed-drawn offsets before ``today`` (midnight UTC of the current day unless given).

All random draws happen in a fixed order and never depend on what the engine answered, so an engine that
behaves differently (a build failing that should not, a refused network driver) changes only what it
touches; such differences are listed in the manifest's ``notes``.

Kinds of content (counts and choices drawn from the seed):

- images loaded from ``docker save`` archives (shared base layers, several tags on one image, earlier
  versions left dangling by a later load, untagged entries, dates spread over ~400 days);
- legacy builds (plain ``POST /build``: intermediate images on overlay2), including a rebuild of a tag
  with changed content (old image dangling), a ``nocache=1`` rebuild of an existing tag and a failing
  build (``RUN exit 1`` half way);
- BuildKit builds (``POST /build?version=2``): multi-stage (``FROM ... AS build`` + ``COPY --from=build``),
  ``RUN --mount=type=cache,target=/cache`` steps, a ``nocache=1`` rebuild, a failing build;
- images pushed to the fleet registry, removed and pulled back (RepoDigests, no parent chain), and a
  container created by digest (``NAME@sha256:...``);
- containers created / running / paused / exited 0 / exited non-zero, some on user networks, with named
  volumes, anonymous volumes (``VOLUME`` in a Dockerfile and ``-v /path`` style) and an orphaned one;
- used and unused user networks and volumes; ``base_image`` labels naming a present and an absent image;
  ``com.example.keep=true`` on some images, containers, volumes and networks.
"""
import dataclasses
import datetime
import math
import random
import time
from typing import Any

import docker

from .builds import BUSYBOX_DOCKERFILE, BuildResult, buildkit_build, context_tar, legacy_build
from .imagetar import ImageSpec, load_images, make_layer
from .proc import SandboxError, log

SCENARIO = "random"
BUSYBOX_IMAGE = "cw/busybox:latest"
KEEP_LABEL = "com.example.keep"
ABSENT_BASE = "registry.example.com/base/vanished:1.0"
WORDS = ("alder", "birch", "cedar", "delta", "ember", "fjord", "gamma", "heron", "iris", "juniper", "kestrel", "lotus",
         "maple", "nimbus", "onyx", "pylon", "quartz", "raven", "sable", "tundra", "umber", "vireo", "willow", "yarrow")
NO_NET: dict[str, Any] = {"network_mode": "none"}
STATES = ("created", "running", "paused", "exited", "failed")  # failed = exited with a non-zero code


@dataclasses.dataclass
class _Build:
    """One planned build and its outcome."""

    tag: str
    builder: str  # legacy | buildkit
    purpose: str
    expect_ok: bool = True
    nocache: bool = False
    ok: bool = False
    image_id: str = ""
    error: str = ""
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        """Manifest entry."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value not in ("", None)}


class _Generator:  # pylint: disable=too-many-instance-attributes
    """Draws and makes one random cache; ``manifest`` collects what was made."""

    def __init__(self, client: docker.DockerClient, seed: int, registry: str | None, today: datetime.datetime | None) -> None:
        self.client = client
        self.api = client.api
        self.seed = seed
        self.rng = random.Random(seed)
        self.registry = registry
        midnight = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.today = today or midnight
        self.labels = {"org.cachewarden.sandbox.seed": str(seed), "org.cachewarden.sandbox.scenario": SCENARIO}
        self.words = list(WORDS)
        self.refills = 0
        self.planned_refs: list[str] = []
        self.volume_images: list[str] = []  # images with VOLUME: containers of them get anonymous volumes
        self.rng.shuffle(self.words)
        self.builds: list[_Build] = []
        self.runnable: list[str] = [BUSYBOX_IMAGE]  # tags planned to hold busybox (containers can run them)
        self.inert: list[str] = []  # tags planned without a shell (containers can only be created)
        self.manifest: dict[str, Any] = {
            "seed": seed, "scenario": SCENARIO, "registry": registry, "today": self.today.isoformat(), "notes": [],
            "loaded_images": [], "builds": [], "failed_builds": [], "tags": [], "replaced": [],
            "registry_refs": [], "containers": {}, "digest_container": "", "volumes": {}, "networks": {}, "keep": [],
            "base_image_labels": {}, "timings": {},
        }

    # -- drawing helpers -------------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        log(f"random seed {self.seed}: {text}")
        self.manifest["notes"].append(text)

    def _word(self) -> str:
        """A fresh name part (unique within this cache)."""
        if not self.words:
            self.refills += 1
            self.words = [f"{word}{self.refills}" for word in WORDS]
            self.rng.shuffle(self.words)
        return self.words.pop()

    def _size(self, low: int = 2_000, high: int = 200_000) -> int:
        """A size between ``low`` and ``high``, log-uniform (many small files, some large)."""
        return int(math.exp(self.rng.uniform(math.log(low), math.log(high))))

    def _blob(self, low: int = 2_000, high: int = 200_000) -> bytes:
        return self.rng.randbytes(self._size(low, high))

    def _token(self) -> str:
        return f"{self.rng.getrandbits(48):012x}"

    def _keep(self, kind: str, name: str, chance: float = 0.25) -> dict[str, str]:
        """Labels of a new object: the scenario's, plus the keep label with probability ``chance`` (always on the
        first object of each kind, so every kind has one)."""
        first = not any(entry.startswith(kind + ":") for entry in self.manifest["keep"])
        if self.rng.random() < chance or first:
            self.manifest["keep"].append(f"{kind}:{name}")
            return {**self.labels, KEEP_LABEL: "true"}
        return dict(self.labels)

    def _when(self, low_days: float, high_days: float) -> datetime.datetime:
        return self.today - datetime.timedelta(seconds=int(self.rng.uniform(low_days, high_days) * 86400))

    def _tagged(self, tag: str) -> None:
        if tag not in self.manifest["tags"]:
            self.manifest["tags"].append(tag)

    @staticmethod
    def _label_line(labels: dict[str, str]) -> str:
        return "LABEL " + " ".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "\n"

    # -- builds ----------------------------------------------------------------------------------------
    def _build(self, build: _Build, dockerfile: str, files: dict[str, bytes] | None = None) -> _Build:
        """Run one planned build, record it and note an outcome other than the expected one."""
        previous = self._image_id(build.tag)
        started = time.monotonic()
        action = legacy_build if build.builder == "legacy" else buildkit_build
        result: BuildResult = action(self.client, context_tar(dockerfile, files), build.tag, nocache=build.nocache)
        build.seconds = round(time.monotonic() - started, 2)
        build.ok, build.image_id, build.error = result.ok, result.image_id, result.error[:300]
        self.builds.append(build)
        if previous and build.ok:
            if previous == self._image_id(build.tag):
                self._note(f"{build.builder} {build.purpose} of {build.tag} gave the same image {previous[:19]}")
            elif not self._image_id(previous):
                self._note(f"{build.builder} {build.purpose} of {build.tag}: the engine deleted the replaced image "
                           f"{previous[:19]} instead of leaving it dangling")
        if build.ok != build.expect_ok:
            self._note(f"{build.builder} build of {build.tag} ({build.purpose}) {'succeeded' if build.ok else 'failed'}"
                       f" against expectation: {build.error or 'no error'}")
        if not build.ok:
            self.manifest["failed_builds"].append(build.tag)
        elif build.tag:
            self._tagged(build.tag)
        return build

    def _image_id(self, ref: str) -> str:
        try:
            return self.api.inspect_image(ref)["Id"]
        except docker.errors.NotFound:
            return ""

    def base(self) -> None:
        """The busybox base image (legacy builder, BuildKit when the legacy builder refuses)."""
        build = self._build(_Build(BUSYBOX_IMAGE, "legacy", "base"), BUSYBOX_DOCKERFILE)
        if not build.ok:
            self.manifest["failed_builds"].remove(BUSYBOX_IMAGE)
            if not self._build(_Build(BUSYBOX_IMAGE, "buildkit", "base (legacy refused)"), BUSYBOX_DOCKERFILE).ok:
                raise SandboxError(f"cannot build {BUSYBOX_IMAGE}: {build.error}")

    def _steps(self, count: int, files: dict[str, bytes]) -> str:
        """``count`` random Dockerfile steps (COPY of a random file, RUN writing data, ENV, WORKDIR)."""
        lines = []
        for _draw in range(count):
            kind = self.rng.choice(("copy", "copy", "run", "run", "env", "workdir"))
            token = self._token()
            if kind == "copy":
                name = f"f-{token}.bin"
                files[name] = self._blob()
                lines.append(f"COPY {name} /data/{name}\n")
            elif kind == "run":
                lines.append(f"RUN mkdir -p /data && yes {token} | head -c {self._size()} > /data/r-{token}\n")
            elif kind == "env":
                lines.append(f"ENV STEP_{token.upper()}={token}\n")
            else:
                lines.append(f"WORKDIR /w/{token}\n")
        return "".join(lines)

    def _base_label(self, chance: float = 0.5, force: str = "") -> dict[str, str]:
        """A ``base_image`` label naming the busybox base, or (rarely) an absent image, or nothing; ``force``: this one."""
        pick = self.rng.random()
        if force:
            return {"base_image": force}
        if pick < chance:
            return {"base_image": BUSYBOX_IMAGE}
        if pick < chance + 0.1:
            return {"base_image": ABSENT_BASE}
        return {}

    def legacy_builds(self) -> None:
        """Legacy builds on busybox: several steps each (intermediate images), a changed rebuild, a nocache
        rebuild, extra tags, an image with ``VOLUME``, one build failing half way."""
        count = self.rng.randint(2, 5)
        built: list[tuple[str, str, dict[str, bytes]]] = []
        for index in range(count):
            repo = f"rnd/{self._word()}"
            tag = f"{repo}:{self.rng.choice(('1.0', '1.1', '2.0', 'dev', 'latest'))}"
            files: dict[str, bytes] = {}
            labels = {**self._keep("image", tag, 0.2), **self._base_label(force=BUSYBOX_IMAGE if index == 0 else "")}
            dockerfile = f"FROM {BUSYBOX_IMAGE}\n{self._label_line(labels)}{self._steps(self.rng.randint(2, 5), files)}"
            if index == 0 or self.rng.random() < 0.3:
                dockerfile += f"VOLUME /var/lib/{self._word()}\n"
                self.volume_images.append(tag)
            dockerfile += 'CMD ["sh"]\n'
            self._record_base_label(tag, labels)
            self._build(_Build(tag, "legacy", "legacy multi-step"), dockerfile, files)
            self.runnable.append(tag)  # planned, not observed: draws must not depend on the engine
            built.append((tag, dockerfile, files))
        # a rebuild with changed content: the earlier image loses the tag (dangling)
        tag, dockerfile, files = self.rng.choice(built)
        changed = dockerfile.replace('CMD ["sh"]\n', f"RUN echo rebuilt-{self._token()} > /REBUILT\nCMD [\"sh\"]\n")
        self._build(_Build(tag, "legacy", "rebuild with changed content"), changed, files)
        self.manifest["replaced"].append({"tag": tag, "by": "legacy rebuild"})
        # nocache=1 rebuild of an existing tag: every step runs again
        tag, dockerfile, files = self.rng.choice(built)
        self._build(_Build(tag, "legacy", "nocache rebuild", nocache=True), dockerfile, files)
        self.manifest["replaced"].append({"tag": tag, "by": "legacy nocache rebuild"})
        # more tags on one image
        for _draw in range(self.rng.randint(1, 2)):
            self._alias(self.rng.choice(built)[0])
        # a build failing half way: the steps before the failure stay as intermediate images
        files = {}
        failing = (f"FROM {BUSYBOX_IMAGE}\n{self._steps(self.rng.randint(1, 3), files)}"
                   f'RUN ["/bin/sh","-c","echo failing; exit 1"]\n{self._steps(1, files)}')
        self._build(_Build(f"rnd/{self._word()}:broken", "legacy", "fails half way", expect_ok=False), failing, files)

    def _alias(self, tag: str) -> None:
        """Give the image of ``tag`` one more tag (drawn whether or not ``tag`` exists)."""
        alias = f"rnd/{self._word()}:{self.rng.choice(('stable', 'prod', 'v1', 'candidate'))}"
        if tag in self.runnable:
            self.runnable.append(alias)  # planned: later draws must not depend on whether tagging worked
        try:
            self.api.tag(tag, *alias.rsplit(":", 1))
            self._tagged(alias)
        except docker.errors.APIError as exc:
            self._note(f"cannot tag {tag} as {alias}: {exc.explanation}")

    def _record_base_label(self, tag: str, labels: dict[str, str]) -> None:
        if "base_image" in labels:
            self.manifest["base_image_labels"][tag] = labels["base_image"]

    def buildkit_builds(self) -> None:
        """BuildKit builds: multi-stage with a cache mount, plain ones, a changed and a nocache rebuild, a failure."""
        count = self.rng.randint(2, 5)
        built: list[tuple[str, str, dict[str, bytes]]] = []
        for index in range(count):
            repo = f"rnd/{self._word()}"
            tag = f"{repo}:{self.rng.choice(('1.0', '2.0', '3.1', 'latest'))}"
            files: dict[str, bytes] = {}
            labels = {**self._keep("image", tag, 0.2), **self._base_label(force=ABSENT_BASE if index == 0 else "")}
            self._record_base_label(tag, labels)
            if index == 0 or self.rng.random() < 0.6:
                dockerfile = self._multistage(labels, files)
            else:
                dockerfile = f"FROM {BUSYBOX_IMAGE}\n{self._label_line(labels)}{self._steps(self.rng.randint(1, 4), files)}"
            self._build(_Build(tag, "buildkit", "multi-stage" if "AS build" in dockerfile else "plain"), dockerfile, files)
            final_stage = [line for line in dockerfile.splitlines() if line.startswith("FROM ")][-1]
            (self.inert if final_stage == "FROM scratch" else self.runnable).append(tag)  # scratch: no shell to run
            built.append((tag, dockerfile, files))
        tag, dockerfile, files = self.rng.choice(built)
        self._build(_Build(tag, "buildkit", "rebuild with changed content"), dockerfile + f"ENV REBUILT={self._token()}\n", files)
        self.manifest["replaced"].append({"tag": tag, "by": "buildkit rebuild"})
        tag, dockerfile, files = self.rng.choice(built)
        self._build(_Build(tag, "buildkit", "nocache rebuild", nocache=True), dockerfile, files)
        self.manifest["replaced"].append({"tag": tag, "by": "buildkit nocache rebuild"})
        if self.rng.random() < 0.5:
            self._alias(self.rng.choice(built)[0])
        files = {}
        failing = (f"FROM {BUSYBOX_IMAGE} AS build\n{self._cache_steps(1, files)}"
                   f'RUN ["/bin/sh","-c","echo failing; exit 1"]\n{self._steps(1, files)}')
        self._build(_Build(f"rnd/{self._word()}:broken", "buildkit", "fails half way", expect_ok=False), failing, files)

    def _cache_steps(self, count: int, files: dict[str, bytes]) -> str:
        """``RUN --mount=type=cache,target=/cache`` steps that fill the cache mount and produce /out files."""
        lines = []
        for _draw in range(count):
            token = self._token()
            name = f"src-{token}.bin"
            files[name] = self._blob()
            lines.append(f"COPY {name} /src/{name}\n")
            cache_id = f",id=cache-{self._word()}" if self.rng.random() < 0.4 else ""  # default id: the target, shared
            lines.append(f"RUN --mount=type=cache,target=/cache{cache_id} mkdir -p /out && cat /src/{name} > /cache/obj-{token} "
                         f"&& yes {token} | head -c {self._size()} >> /cache/obj-{token} && head -c {self._size()} /cache/obj-{token} > /out/{token}\n")
        return "".join(lines)

    def _multistage(self, labels: dict[str, str], files: dict[str, bytes]) -> str:
        final = BUSYBOX_IMAGE if self.rng.random() < 0.7 else "scratch"
        return (f"FROM {BUSYBOX_IMAGE} AS build\n{self._cache_steps(self.rng.randint(1, 2), files)}"
                f"FROM {final}\n{self._label_line(labels)}COPY --from=build /out /app\n")

    # -- loaded images ---------------------------------------------------------------------------------
    def loaded_images(self) -> None:
        """Image archives: versions of a few repositories on shared base layers, earlier builds of some tags
        (dangling after the later load), untagged entries, extra tags, base_image labels."""
        bases = [make_layer({f"/lib/base-{i}.bin": self._blob(20_000, 200_000), "/etc/os-release": f"ID=rnd-{i}\n".encode()})
                 for i in range(self.rng.randint(1, 2))]
        earlier: list[ImageSpec] = []
        later: list[ImageSpec] = []
        first_tag = ""
        for _repo in range(self.rng.randint(2, 3)):
            repo = f"rnd/{self._word()}"
            base = self.rng.choice(bases)
            age = self.rng.uniform(30, 400)
            for number in range(1, self.rng.randint(1, 3) + 1):
                tag = f"{repo}:{number}.0"
                tags = [tag] + ([f"{repo}:latest"] if self.rng.random() < 0.3 else [])
                age = max(0.01, age - self.rng.uniform(0, 60))
                labels = self._keep("image", tag, 0.15)
                if first_tag and self.rng.random() < 0.4:
                    labels["base_image"] = first_tag
                elif self.rng.random() < 0.15:
                    labels["base_image"] = ABSENT_BASE
                self._record_base_label(tag, labels)
                layers = [base, make_layer({"/app/payload": self._blob(), "/app/VERSION": tag.encode()})]
                later.append(ImageSpec(list(dict.fromkeys(tags)), layers, self._when(age, age + 0.5), labels))
                if self.rng.random() < 0.35:
                    older = [base, make_layer({"/app/payload": self._blob(), "/app/VERSION": b"old"})]
                    earlier.append(ImageSpec([tag], older, self._when(age + 1, age + 30), dict(self.labels)))
                    self.manifest["replaced"].append({"tag": tag, "by": "later image load"})
                first_tag = first_tag or tag
        for _untagged in range(self.rng.randint(0, 2)):
            later.append(ImageSpec([], [self.rng.choice(bases), make_layer({"/junk": self._blob()})], self._when(1, 300), dict(self.labels)))
            self.manifest["replaced"].append({"tag": "", "by": "untagged image load"})
        # separate loads: docker 26.1 on the containerd store loses layers when one archive re-uses a tag
        for batch in (earlier, later):
            if batch:
                load_images(self.client, batch)
        for spec in later:
            for tag in spec.tags:
                self._tagged(tag)
                self.inert.append(tag)
        self.manifest["loaded_images"] = [spec.tags for spec in earlier + later]

    # -- registry round trips --------------------------------------------------------------------------
    def registry_images(self) -> None:
        """Build images straight under registry names, push them, remove them and pull them back: the
        pulled images have RepoDigests and no parent chain."""
        count = self.rng.randint(1, 2)
        plans = []
        for _draw in range(count):
            repo = f"cw/{self._word()}"
            version = self.rng.choice(("1.0", "2.4", "stable"))
            files: dict[str, bytes] = {}
            builder = self.rng.choice(("legacy", "buildkit"))
            labels = self._keep("image", f"{repo}:{version}", 0.2)
            dockerfile = f"FROM {BUSYBOX_IMAGE}\n{self._label_line(labels)}{self._steps(self.rng.randint(1, 3), files)}CMD [\"sh\"]\n"
            plans.append((repo, version, builder, dockerfile, files, self.rng.random() < 0.5))
        if not self.registry:
            self._note("no registry given: no pushed/pulled images and no container by digest")
            return
        from .registry import push_lock  # pylint: disable=import-outside-toplevel
        for repo, version, builder, dockerfile, files, alias in plans:
            ref = f"{self.registry}/{repo}:{version}"
            self.planned_refs.append(ref)
            self.runnable.append(ref)
            digest = ""
            with push_lock():  # hosts seeded alike push the same names with different content
                if self._build(_Build(ref, builder, "pushed and pulled back"), dockerfile, files).ok:
                    digest = self._round_trip(ref)
            self.manifest["registry_refs"].append({"ref": ref, "digest": digest, "built_with": builder})
            if alias:
                self._alias(ref)

    def _round_trip(self, ref: str) -> str:
        """Push ``ref``, remove it locally, pull it again; return its repo digest ("" on failure)."""
        repo, tag = ref.rsplit(":", 1)
        try:
            for message in self.api.push(repo, tag=tag, stream=True, decode=True):
                if message.get("error"):
                    raise docker.errors.APIError(message["error"])
            self.api.remove_image(ref)
            for message in self.api.pull(repo, tag=tag, stream=True, decode=True):
                if message.get("error"):
                    raise docker.errors.APIError(message["error"])
            digests = self.api.inspect_image(ref).get("RepoDigests") or []
        except docker.errors.APIError as exc:
            self._note(f"registry round trip of {ref} failed: {exc}")
            return ""
        mine = [digest for digest in digests if digest.startswith(repo + "@")]
        if not mine:
            self._note(f"{ref} pulled back without a RepoDigest: {digests}")
            return ""
        return mine[0].split("@", 1)[1]

    # -- networks, volumes, containers -----------------------------------------------------------------
    def networks(self) -> list[str]:
        """User networks (bridge; macvlan when the engine refuses bridge); the first ones get containers."""
        names = [f"rnet-{self._word()}" for _draw in range(self.rng.randint(2, 4))]
        labels = [self._keep("network", name, 0.3) for name in names]
        for name, label in zip(names, labels):
            try:
                self.client.networks.create(name, driver="bridge", labels=label)
                driver = "bridge"
            except docker.errors.APIError as exc:
                self._note(f"bridge network {name} refused ({exc.explanation}); using macvlan")
                self.client.networks.create(name, driver="macvlan", options={"parent": "eth0"}, labels=label)
                driver = "macvlan"
            self.manifest["networks"][name] = {"driver": driver, "containers": []}
        return names

    def volumes(self) -> list[str]:
        """Named volumes; containers draw from the first ones, so some stay unused."""
        names = [f"rvol-{self._word()}" for _draw in range(self.rng.randint(2, 5))]
        for name in names:
            self.client.volumes.create(name, labels=self._keep("volume", name, 0.3))
            self.manifest["volumes"][name] = {"containers": []}
        return names

    def containers(self, networks: list[str], volumes: list[str]) -> None:
        """Containers in every state (each at least once), on user networks or none, with named and anonymous volumes."""
        states = list(STATES) + [self.rng.choice(STATES) for _draw in range(self.rng.randint(1, 5))]
        self.rng.shuffle(states)
        used_networks = networks[:max(1, len(networks) - self.rng.randint(1, 2))]
        used_volumes = volumes[:max(1, len(volumes) - self.rng.randint(1, 2))]
        live_on_network = False  # one running or paused container always sits on a user network (an active endpoint)
        for index, state in enumerate(states):
            name = f"rc-{self._word()}-{index}"
            if index == 1:
                image = self.rng.choice(self.volume_images)
            else:
                image = self.rng.choice(self.inert + self.runnable) if state == "created" else self.rng.choice(self.runnable)
            live = state in ("running", "paused")
            network = self.rng.choice(used_networks) if index == 0 or (live and not live_on_network) or self.rng.random() < 0.4 else ""
            live_on_network = live_on_network or (live and bool(network))
            binds = [f"{self.rng.choice(used_volumes)}:/data"] if index == 0 or self.rng.random() < 0.4 else []
            anonymous = ["/scratch"] if index == 0 or self.rng.random() < 0.4 else []  # -v /scratch
            self._container(name, image, state, network, binds, anonymous, self._keep("container", name, 0.25))
        if self.planned_refs:
            entry = self.manifest["registry_refs"][self.rng.randrange(len(self.planned_refs))]
            name, state = f"rc-bydigest-{self._word()}", self.rng.choice(("created", "exited"))
            if entry["digest"]:
                by_digest = f"{entry['ref'].rsplit(':', 1)[0]}@{entry['digest']}"
                self._container(name, by_digest, state, "", [], [], dict(self.labels))
                self.manifest["digest_container"] = name
            else:
                self._note(f"no digest of {entry['ref']}: container {name} not made")
        orphan = self.api.create_container(BUSYBOX_IMAGE, ["true"], volumes=["/orphan"], host_config=self.api.create_host_config(**NO_NET))
        self.api.remove_container(orphan, v=False)  # leaves an anonymous volume nothing uses

    def _container(self, name: str, image: str, state: str, network: str,  # pylint: disable=too-many-arguments,too-many-positional-arguments
                   binds: list[str], anonymous: list[str], labels: dict[str, str]) -> None:
        token, size, code = self._token(), self._size(), self.rng.randint(1, 125)
        if state in ("running", "paused"):
            command = ["sleep", "2147483"]
        elif state == "created":
            command = ["true"]
        else:
            command = ["sh", "-c", f"yes {token} | head -c {size} > /out-{token}" + (f"; exit {code}" if state == "failed" else "")]
        api = self.api
        network_args = {"network_mode": network} if network else NO_NET
        try:
            container = api.create_container(image, command, name=name, labels=labels, volumes=anonymous or None, stop_signal="SIGKILL",
                                             host_config=api.create_host_config(binds=binds or None, **network_args))
            if state != "created":
                api.start(container)
            if state == "paused":
                api.pause(container)
            elif state in ("exited", "failed"):
                status = api.wait(container, timeout=60).get("StatusCode")
                if status != (code if state == "failed" else 0):
                    self._note(f"container {name} exited with {status}")
        except docker.errors.APIError as exc:
            self._note(f"container {name} ({state}, {image}) failed: {exc.explanation or exc}")
            return
        actual = api.inspect_container(container)["State"]
        self.manifest["containers"][name] = {"state": state, "image": image, "status": actual.get("Status"),
                                             "exit_code": actual.get("ExitCode"), "network": network or "none",
                                             "volumes": [bind.split(":", 1)[0] for bind in binds], "anonymous": anonymous}
        if network:
            self.manifest["networks"][network]["containers"].append(name)
        for bind in binds:
            self.manifest["volumes"][bind.split(":", 1)[0]]["containers"].append(name)

    # -- what the engine shows -------------------------------------------------------------------------
    def observe(self) -> None:
        """Counts as the engine reports them (these may differ between engines; the plan above does not)."""
        all_images = self.api.images(all=True)
        top = self.api.images()
        cache: dict[str, int] = {}
        for attempt in range(10):
            try:
                for record in self.api.df().get("BuildCache") or []:
                    cache[record.get("Type", "")] = cache.get(record.get("Type", ""), 0) + 1
                break
            except docker.errors.NotFound:  # 28.5 containerd store: a just-failed build's snapshot, for a moment
                time.sleep(0.2 * (attempt + 1))
        self.manifest["observed"] = {
            "images_all": len(all_images), "images_top": len(top),
            "dangling": sum(1 for image in top if not [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]),
            "intermediate": len({image["Id"] for image in all_images} - {image["Id"] for image in top}),
            "build_cache": cache,
            "volumes": len(self.api.volumes().get("Volumes") or []),
        }

    def run(self) -> dict[str, Any]:
        """Make everything, in a fixed order; return the manifest."""
        steps = (("base", self.base), ("loaded", self.loaded_images), ("legacy", self.legacy_builds),
                 ("buildkit", self.buildkit_builds), ("registry", self.registry_images))
        for name, step in steps:
            started = time.monotonic()
            step()
            self.manifest["timings"][name] = round(time.monotonic() - started, 2)
        started = time.monotonic()
        self.containers(self.networks(), self.volumes())
        self.manifest["timings"]["containers"] = round(time.monotonic() - started, 2)
        self.manifest["builds"] = [build.record() for build in self.builds]
        self.manifest["intermediate_expected"] = any(build.builder == "legacy" and build.ok for build in self.builds)
        self.observe()
        return self.manifest


def structure(client: docker.DockerClient) -> dict[str, Any]:
    """What must be equal on two engines of the same version and store seeded with the same seed: tags, named
    volumes, user networks, containers (name, state, exit code, networks) and the number of images."""
    api = client.api
    containers = {}
    for summary in api.containers(all=True):
        inspect = api.inspect_container(summary["Id"])
        containers[inspect["Name"].lstrip("/")] = (inspect["State"]["Status"], inspect["State"]["ExitCode"],
                                                   tuple(sorted(inspect["NetworkSettings"]["Networks"])))
    volumes = api.volumes().get("Volumes") or []
    return {
        "tags": sorted(tag for image in api.images() for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"),
        "images_all": len(api.images(all=True)),
        "images_top": len(api.images()),
        "containers": containers,
        "named_volumes": sorted(v["Name"] for v in volumes if not (len(v["Name"]) == 64 and v["Name"].isalnum())),
        "anonymous_volumes": sum(1 for v in volumes if len(v["Name"]) == 64 and v["Name"].isalnum()),
        "networks": sorted(n["Name"] for n in api.networks() if n["Name"] not in ("bridge", "host", "none")),
    }


def seed_random(client: docker.DockerClient, seed: int, registry: str | None,
                today: datetime.datetime | None = None) -> dict[str, Any]:
    """Fill the engine behind ``client`` with a random cache drawn from ``seed``; return its manifest.

    ``registry`` is ``HOST:PORT`` of a registry the engine can push to and pull from (``sandbox.registry.ensure()``),
    or None to leave out pushed/pulled images. ``today`` anchors the dates of loaded images (default: midnight UTC).
    """
    started = time.monotonic()
    manifest = _Generator(client, seed, registry, today).run()
    manifest["seconds"] = round(time.monotonic() - started, 1)
    return manifest
