"""Bulk images without a registry: write ``docker save``-format archives and ``POST /images/load`` them."""
import dataclasses
import datetime
import hashlib
import io
import json
import tarfile
import tempfile
import time
from typing import IO, Iterable, Iterator

import docker

from .proc import SandboxError

FIXED_MTIME = 1_700_000_000


@dataclasses.dataclass
class ImageSpec:
    """One image to load: ``tags`` empty means dangling; ``layers`` are layer tars (see :func:`make_layer`)."""

    tags: list[str]
    layers: list[bytes]
    created: datetime.datetime
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    cmd: list[str] = dataclasses.field(default_factory=lambda: ["/app"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), FIXED_MTIME, mode
    archive.addfile(info, io.BytesIO(data))


def make_layer(files: dict[str, bytes]) -> bytes:
    """A deterministic layer tar holding ``files`` (path -> content) and their parent directories."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        dirs = sorted({"/".join(path.strip("/").split("/")[:i]) for path in files for i in range(1, path.strip("/").count("/") + 1)})
        for folder in dirs:
            info = tarfile.TarInfo(folder + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
            archive.addfile(info)
        for path in sorted(files):
            _add(archive, path.strip("/"), files[path])
    return out.getvalue()


def image_config(spec: ImageSpec) -> bytes:
    """The image configuration JSON of ``spec`` (its sha256 is the image ID on the overlay2 store)."""
    created = spec.created.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Cmd": spec.cmd, "Labels": spec.labels or None, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha256(layer)}" for layer in spec.layers]},
        "history": [{"created": created, "created_by": f"cachewarden sandbox layer {i}"} for i in range(len(spec.layers))],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def write_archive(specs: Iterable[ImageSpec], out: IO[bytes]) -> list[str]:
    """Write a ``docker save`` archive of ``specs`` (each layer stored once) to ``out``; return config digests."""
    manifest, digests, written = [], [], set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for spec in specs:
            layer_names = []
            for layer in spec.layers:
                digest = _sha256(layer)
                if digest not in written:
                    _add(archive, f"{digest}/layer.tar", layer)
                    _add(archive, f"{digest}/VERSION", b"1.0")
                    written.add(digest)
                layer_names.append(f"{digest}/layer.tar")
            config = image_config(spec)
            digest = _sha256(config)
            if digest not in written:
                _add(archive, f"{digest}.json", config)
                written.add(digest)
            manifest.append({"Config": f"{digest}.json", "RepoTags": spec.tags or None, "Layers": layer_names})
            digests.append(f"sha256:{digest}")
        _add(archive, "manifest.json", json.dumps(manifest).encode())
    return digests


def _batches(specs: Iterable[ImageSpec], size: int) -> Iterator[list[ImageSpec]]:
    batch: list[ImageSpec] = []
    for spec in specs:
        batch.append(spec)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


LOAD_TRIES = 3


def load_images(client: docker.DockerClient, specs: Iterable[ImageSpec], batch_size: int = 250) -> list[str]:
    """Load ``specs`` into the engine in archives of ``batch_size`` images; return their config digests.

    Later entries win a tag, so re-using a tag leaves the earlier image dangling (on the overlay2 store;
    docker 26.1 on the containerd store may fail with "content digest ... not found": re-use tags across calls instead).
    """
    digests: list[str] = []
    for batch in _batches(specs, batch_size):
        with tempfile.TemporaryFile() as archive:
            digests += write_archive(batch, archive)
            for attempt in range(LOAD_TRIES):
                archive.seek(0)
                error = _load(client, archive)
                if not error:
                    break
                # docker 26.1 on the containerd store, under load, sometimes unpacks a layer before the snapshot of
                # the one below it is there ("parent snapshot ... does not exist"): loading the archive again works.
                if "does not exist" not in error or attempt == LOAD_TRIES - 1:
                    raise SandboxError(f"image load failed: {error}")
                time.sleep(1 + attempt)
    return digests


def _load(client: docker.DockerClient, archive: IO[bytes]) -> str:
    """Load one archive; the engine's error message, or ''."""
    for message in client.api.load_image(archive):
        if "error" in message or "errorDetail" in message:
            return str(message.get("error") or message.get("errorDetail"))
    return ""
