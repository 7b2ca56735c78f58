"""Smoke test of the sandbox fleet: real engines, real SSH, seeded content, link faults."""
import re
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from fleet_helpers import reset

from sandbox import paths
from sandbox.fleet import Fleet, Host, docker_client
from sandbox.probes import tcp_open

REPO = paths.repo_root()
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]


def sandbox(*args: str) -> subprocess.CompletedProcess:
    """Run the sandbox CLI from the repository root."""
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=REPO, capture_output=True, text=True, timeout=900, check=False)


def hosts(fleet: Fleet) -> list[Host]:
    """Hosts under test."""
    assert fleet.hosts, "fleet has no hosts"
    return fleet.sorted_hosts()


def expected_version(host: Host) -> str:
    """Version prefix the host's engine must report."""
    if host.engine == "stable":
        return subprocess.run(["/usr/sbin/dockerd", "--version"], capture_output=True, text=True, check=True).stdout.split()[2].rstrip(",")
    return host.engine + "."


def build_cache_records(host: Host) -> int:
    """Build cache records of the host (``/system/df`` may briefly miss a snapshot on 28.5's containerd store)."""
    for _attempt in range(10):
        try:
            return len(docker_client(host).api.df().get("BuildCache") or [])
        except docker.errors.NotFound:
            time.sleep(0.5)
    return -1


def test_engine_version_and_store(fleet: Fleet) -> None:
    """Each engine answers on its socket with the version and image store of fleet.json."""
    for host in hosts(fleet):
        client = docker_client(host)
        assert client.ping()
        assert client.version()["Version"].startswith(expected_version(host)), host.name
        info = client.info()
        snapshotter = ["driver-type", "io.containerd.snapshotter.v1"] in (info.get("DriverStatus") or [])
        assert snapshotter == (host.store == "containerd"), (host.name, info["Driver"], info.get("DriverStatus"))
        if host.store == "overlay2":
            assert info["Driver"] == "overlay2"
        assert Path(host.cli).is_file()


def test_ssh_lands_in_host(fleet: Fleet) -> None:
    """SSH with the sandbox key works and /var/lib/docker inside is the host's data folder."""
    for host in hosts(fleet):
        base = ["ssh", "-i", fleet.ssh_key, *SSH_OPTS, f"root@{host.address}"]
        assert subprocess.run([*base, "true"], capture_output=True, timeout=30, check=False).returncode == 0, host.name
        out = subprocess.run([*base, "findmnt -n -o SOURCE /var/lib/docker; docker version --format '{{.Server.Version}}'"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        assert f"[{host.data_dir}]" in out, out
        assert expected_version(host) in out, out


def test_seeded_content(fleet: Fleet) -> None:
    """The basic scenario leaves every kind of content a cache policy acts on (hosts reseeded first:
    other tests prune them)."""
    reset(fleet, *hosts(fleet))
    for host in hosts(fleet):
        assert host.seed.get("scenario") == "basic", f"{host.name} not seeded with the basic scenario"
        client = docker_client(host)
        api = client.api
        assert api.images(filters={"dangling": True}), f"{host.name}: no dangling images"
        tags = {tag for image in client.images.list() for tag in image.tags}
        bases = {image.labels.get("base_image") for image in client.images.list() if image.labels.get("base_image")}
        assert bases & tags, f"{host.name}: no base_image label naming a present image"
        assert bases - tags, f"{host.name}: no base_image label naming an absent image"
        assert {"cw/app:1.0", "cw/app:2.0", "cw/web:latest", "cw/busybox:latest"} <= tags
        assert build_cache_records(host) > 0, f"{host.name}: empty build cache"
        states = {c.name: c.status for c in client.containers.list(all=True)}
        assert states.get("cw-running") == "running"
        assert states.get("cw-created") == "created"
        assert states.get("cw-exited-ok") == "exited" and states.get("cw-exited-fail") == "exited"
        volumes = [volume.name for volume in client.volumes.list()]
        assert {"cw-unused-1", "cw-data-used"} <= set(volumes)
        assert any(re.fullmatch(r"[0-9a-f]{64}", name) for name in volumes), f"{host.name}: no anonymous volume"
        assert api.volumes(filters={"dangling": True})["Volumes"], f"{host.name}: no unused volume"
        assert {"cw-net-unused-1", "cw-net-unused-2"} <= {network.name for network in client.networks.list()}


def test_link_fault(fleet: Fleet) -> None:
    """link-down makes the host's SSH port unreachable, link-up brings it back."""
    host = hosts(fleet)[0]
    assert tcp_open(host.address, 22, 2.0)
    result = sandbox("fault", "link-down", host.name)
    try:
        assert result.returncode == 0, result.stderr
        assert not tcp_open(host.address, 22, 2.0)
    finally:
        result = sandbox("fault", "link-up", host.name)
    assert result.returncode == 0, result.stderr
    assert tcp_open(host.address, 22, 2.0)


def test_engine_fault(fleet: Fleet) -> None:
    """engine-stop silences the engine; engine-start brings it back with its content."""
    host = hosts(fleet)[-1]
    assert sandbox("fault", "engine-stop", host.name).returncode == 0
    with pytest.raises(Exception):
        docker_client(host, timeout=5).ping()
    result = sandbox("fault", "engine-start", host.name)
    assert result.returncode == 0, result.stderr
    client = docker_client(host)
    assert client.ping()
    assert client.images.get("cw/busybox:latest")
    deadline = time.monotonic() + 20
    while client.containers.get("cw-running").status != "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.containers.get("cw-running").status == "running", "restart policy did not bring cw-running back"
