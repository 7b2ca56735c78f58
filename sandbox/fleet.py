"""Library entry points: ``Fleet.load()``, ``up()``, ``down()``, ``seed_host()``, ``docker_client()``.

Example::

    from sandbox.fleet import Fleet, docker_client
    for host in Fleet.load().sorted_hosts():
        print(host.name, host.address, docker_client(host).version()["Version"])
"""
from .client import docker_client
from .imagetar import ImageSpec, load_images, make_layer
from .lifecycle import down, up
from .model import Fleet, Host
from .seed import seed_host

__all__ = ["Fleet", "Host", "ImageSpec", "docker_client", "down", "load_images", "make_layer", "seed_host", "up"]
