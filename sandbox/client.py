"""Docker SDK clients for sandbox hosts (through the engine socket on the root filesystem, no SSH)."""
import docker

from .model import Host


def docker_client(host: Host, timeout: int = 120) -> docker.DockerClient:
    """A client for ``host``'s engine, negotiating the API version."""
    return docker.DockerClient(base_url=host.docker_host, version="auto", timeout=timeout)
