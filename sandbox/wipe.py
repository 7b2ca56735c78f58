"""Empty an engine: every container, image, volume, user network and build cache record."""
import docker

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
    client.api.post(client.api._url("/build/prune"), params={"all": 1}).raise_for_status()  # pylint: disable=protected-access
