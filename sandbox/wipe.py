"""Empty an engine: every container, image, volume, user network and build cache record."""
import time

import docker

from .proc import SandboxError

BUILTIN_NETWORKS = {"bridge", "host", "none"}


def wipe_client(client: docker.DockerClient) -> None:
    """Remove everything the engine holds, so a host can be seeded again from nothing."""
    for container in client.containers.list(all=True):
        container.remove(force=True, v=True)
    for volume in client.volumes.list():
        volume.remove(force=True)
    for network in client.networks.list():
        if network.name not in BUILTIN_NETWORKS:
            network.remove()
    # Children first: an image others build on cannot go before them.
    for _round in range(5):
        images = client.images.list(all=True)
        if not images:
            break
        for image in images:
            try:
                client.api.remove_image(image.id, force=True, noprune=False)
            except docker.errors.APIError:
                pass
    _prune_build_cache_until_empty(client)


def _prune_build_cache_until_empty(client: docker.DockerClient, tries: int = 10) -> None:
    """Prune all build cache until none is left: on the containerd store a record can stay shared for a
    moment after its image went, and BuildKit then keeps it. A seed must start from nothing."""
    for attempt in range(tries):
        client.api.post(client.api._url("/build/prune"), params={"all": 1}).raise_for_status()  # pylint: disable=protected-access
        left = client.api.df().get("BuildCache") or []
        if not left and not client.api.images(all=True):
            return
        time.sleep(0.2 * (attempt + 1))
    raise SandboxError(f"the engine keeps {len(left)} build cache records after a wipe: "
                       + ", ".join(f"{r['ID']} shared={r.get('Shared')} in_use={r.get('InUse')}" for r in left))
