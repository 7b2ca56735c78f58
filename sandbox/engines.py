"""Docker engines of the matrix: the machine's own (stable) and newer ones from other Debian suites."""
import dataclasses
import os
import shutil
from pathlib import Path

from . import paths
from .aptfetch import PrivateApt
from .proc import SandboxError, log, run

SUITES = {"26.1": "trixie", "28.5": "sid"}
SYSTEM_PACKAGES = ["docker.io", "busybox-static", "openssh-server", "iproute2"]
SYSTEM_TOOLS = ["/usr/sbin/dockerd", "/usr/bin/docker", "/bin/busybox", "/usr/sbin/sshd", "/usr/sbin/runc", "/usr/bin/docker-init", "/usr/bin/ssh-keygen"]
ENGINE_BINARIES = ["usr/bin/docker", "usr/sbin/dockerd", "usr/bin/containerd", "usr/bin/containerd-shim-runc-v2", "usr/bin/ctr", "usr/sbin/docker-proxy"]
STABLE_BINARIES = ["/usr/sbin/runc", "/usr/bin/docker-init"]


@dataclasses.dataclass
class Engine:
    """Where an engine's programs are: ``bin_dir`` goes first on PATH ("" = system PATH), ``cli`` is its docker CLI."""

    key: str
    bin_dir: str
    cli: str


def prepare_system() -> None:
    """Install the stable engine, busybox-static, sshd and iproute2 with apt when any is missing."""
    missing = [tool for tool in SYSTEM_TOOLS if not os.access(tool, os.X_OK)]
    if not missing and shutil.which("ip"):
        return
    log(f"installing {' '.join(SYSTEM_PACKAGES)} (missing: {' '.join(missing) or 'ip'})")
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
    if run([*env_cmd, "apt-get", "install", "-y", "-q", *SYSTEM_PACKAGES], check=False).returncode != 0:
        run(["apt-get", "update", "-q"])
        run([*env_cmd, "apt-get", "install", "-y", "-q", *SYSTEM_PACKAGES])


def _engine_version(dockerd: Path) -> str:
    """Version printed by ``dockerd --version`` (e.g. ``28.5.2+dfsg4``)."""
    words = run([str(dockerd), "--version"]).stdout.split()
    return words[2].rstrip(",") if len(words) > 2 else ""


def _download(key: str, root: Path) -> None:
    """Fetch docker.io, containerd (and docker-cli when split out) of the engine's suite and unpack them into ``root``."""
    suite = SUITES[key]
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    apt = PrivateApt(suite, paths.engine_cache() / "_apt" / suite)
    apt.update()
    packages = ["docker.io", "containerd"] + (["docker-cli"] if apt.has("docker-cli") else [])
    tree = partial / "tree"
    for deb in apt.download(packages, partial / "debs"):
        run(["dpkg", "-x", str(deb), str(tree)])
    version = _engine_version(tree / "usr/sbin/dockerd")
    if not version.startswith(key + "."):
        raise SandboxError(f"engine {key}: Debian {suite} now carries docker.io {version}; update sandbox/engines.py SUITES")
    bin_dir = partial / "bin"
    bin_dir.mkdir()
    for rel in ENGINE_BINARIES:
        if (tree / rel).exists():
            (bin_dir / Path(rel).name).symlink_to(root / "tree" / rel)
    for path in STABLE_BINARIES:
        (bin_dir / Path(path).name).symlink_to(path)
    shutil.rmtree(partial / "debs")
    (partial / "VERSION").write_text(version + "\n", encoding="utf-8")
    partial.rename(root)
    log(f"engine {key}: docker {version} unpacked in {root}")


def engine(key: str) -> Engine:
    """The engine called ``key`` (stable, 26.1, 28.5), downloading it into the cache on first use."""
    if key == "stable":
        return Engine(key, "", "/usr/bin/docker")
    if key not in SUITES:
        raise SandboxError(f"unknown engine {key!r} (choose from {', '.join(paths.ENGINES)})")
    root = paths.engine_cache() / key
    if not (root / "VERSION").is_file():
        shutil.rmtree(root, ignore_errors=True)
        _download(key, root)
    cli = root / "tree/usr/bin/docker"
    return Engine(key, str(root / "bin"), str(cli) if cli.exists() else "")


def prepare(keys: list[str]) -> list[Engine]:
    """Make sure the system packages and the engines ``keys`` are available."""
    prepare_system()
    return [engine(key) for key in dict.fromkeys(keys)]
