"""Image builds through the engine API: the legacy builder and BuildKit (``POST /build?version=2``)."""
import dataclasses
import io
import json
import tarfile
from pathlib import Path

import docker

from .contextserver import serve_context
from .imagetar import FIXED_MTIME

BUSYBOX = Path("/bin/busybox")
BUSYBOX_DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n'


@dataclasses.dataclass
class BuildResult:
    """Outcome of one build: ``image_id`` is empty and ``error`` set when it failed."""

    image_id: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the build succeeded."""
        return bool(self.image_id) and not self.error


def context_tar(dockerfile: str, files: dict[str, bytes] | None = None) -> bytes:
    """A deterministic build context: the Dockerfile plus ``files``; ``busybox`` is added when the Dockerfile copies it."""
    entries = {"Dockerfile": dockerfile.encode(), **(files or {})}
    if "COPY busybox" in dockerfile:
        entries["busybox"] = BUSYBOX.read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(entries[name]), FIXED_MTIME
            info.mode = 0o755 if name == "busybox" else 0o644
            archive.addfile(info, io.BytesIO(entries[name]))
    return out.getvalue()


def _collect(messages) -> BuildResult:
    """Image ID or error from a build's JSON message stream."""
    result = BuildResult()
    for message in messages:
        if message.get("error") or message.get("errorDetail"):
            result.error = str(message.get("error") or message["errorDetail"].get("message"))
        aux = message.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            result.image_id = aux["ID"]
        stream = message.get("stream", "")
        if stream.startswith("Successfully built "):
            result.image_id = result.image_id or stream.split()[-1]
    return result


def legacy_build(client: docker.DockerClient, context: bytes, tag: str, nocache: bool = False) -> BuildResult:
    """Build with the legacy builder (plain ``POST /build``), which keeps intermediate images; ``nocache`` sends nocache=1."""
    try:
        messages = client.api.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True, forcerm=True,
                                    network_mode="none", nocache=nocache, decode=True)
        return _collect(messages)
    except docker.errors.APIError as exc:
        return BuildResult(error=str(exc.explanation or exc))


def _post_build(client: docker.DockerClient, params: dict[str, str], body: bytes | None) -> BuildResult:
    """``POST /build`` with ``params`` and an optional tar body; collect the outcome."""
    api = client.api
    headers = {"Content-Type": "application/x-tar"} if body is not None else {}
    response = api.post(f"{api.base_url}/v{api.api_version}/build", params=params, data=body, headers=headers, stream=True, timeout=300)
    with response:
        if response.status_code >= 400:
            return BuildResult(error=f"HTTP {response.status_code}: {response.text.strip()}")
        return _collect(json.loads(line) for line in response.iter_lines() if line.strip())


def buildkit_build(client: docker.DockerClient, context: bytes, tag: str = "", nocache: bool = False) -> BuildResult:
    """Build with BuildKit through the API (``POST /build?version=2``, tar context body); fills the build cache.
    ``nocache`` sends nocache=1 (every step runs again).

    Docker 26.1 on the containerd store cannot read an uploaded context (it looks the internal
    ``build-context-*`` URL up in DNS); the context is then served from the sandbox gateway as ``remote``.
    """
    params = {"version": "2", "rm": "1", "networkmode": "none", **({"t": tag} if tag else {}), **({"nocache": "1"} if nocache else {})}
    result = _post_build(client, params, context)
    if "failed to read downloaded context" not in result.error:
        return result
    with serve_context(context) as url:
        return _post_build(client, {**params, "remote": url}, None)
