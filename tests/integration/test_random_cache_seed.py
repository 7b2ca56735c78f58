# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The random cache generator (sandbox/randomcache.py, scenario ``random``) on real engines: it makes every kind
of object it promises, and the same seed gives the same structure on twin hosts (same engine and store).

All four fleet hosts are reseeded with the random scenario and put back to the basic scenario afterwards.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List

import docker
import pytest
from fleet_helpers import reset

from sandbox.fleet import Fleet, Host, docker_client
from sandbox.lifecycle import locked
from sandbox.randomcache import ABSENT_BASE, KEEP_LABEL, structure
from sandbox.seed import reset_host

SEED = 20240607
SCENARIO_LABEL = 'org.cachewarden.sandbox.scenario=random'
HOST_NAMES = ('h1', 'h2', 'h3', 'h4')


def _anonymous(name: str) -> bool:
    return len(name) == 64 and all(char in '0123456789abcdef' for char in name)


@pytest.fixture(scope='module', name='seeded')
def seeded_fixture(fleet: Fleet) -> Iterator[Dict[str, dict]]:
    """Every host reseeded with the random scenario (seed SEED); the manifests by host name."""
    hosts = [fleet.host(name) for name in HOST_NAMES]
    with locked():
        try:
            with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                manifests = list(pool.map(lambda host: reset_host(host, SEED, 'random'), hosts))
        finally:
            fleet.save()
    yield {host.name: manifest for host, manifest in zip(hosts, manifests)}
    reset(fleet, *hosts)  # back to the basic scenario the other tests expect


def _df_build_cache(api: docker.APIClient) -> List[dict]:
    for attempt in range(10):
        try:
            return api.df().get('BuildCache') or []
        except docker.errors.NotFound:  # containerd store, right after a failed build
            time.sleep(0.3 * (attempt + 1))
    raise AssertionError('GET /system/df keeps failing')


@pytest.fixture(name='engine')
def engine_fixture(fleet: Fleet, seeded: Dict[str, dict], request: pytest.FixtureRequest) -> Iterator[tuple]:
    """(host, manifest, low-level API client) of the host named by the test parameter."""
    host: Host = fleet.host(request.param)
    client = docker_client(host)
    try:
        yield host, seeded[host.name], client.api
    finally:
        client.close()


ENGINES = pytest.mark.parametrize('engine', ['h1', 'h2'], indirect=True, ids=['stable-overlay2', '28.5-containerd'])


@ENGINES
def test_dangling_and_intermediate_images(engine: tuple) -> None:
    """Rebuilt and reloaded tags leave dangling images; on overlay2 the legacy builder leaves intermediate ones."""
    host, manifest, api = engine
    dangling = api.images(filters={'dangling': True})
    # BuildKit rebuilds on the containerd store delete the replaced image instead of leaving it dangling
    expected = [entry for entry in manifest['replaced'] if host.store == 'overlay2' or not entry['by'].startswith('buildkit')]
    assert expected
    assert len(dangling) >= len(expected), (dangling, manifest['replaced'])
    if host.store == 'overlay2':
        top = {image['Id'] for image in api.images()}
        intermediate = {image['Id'] for image in api.images(all=True)} - top
        assert intermediate
        parents = {api.inspect_image(tag).get('Parent') for tag in manifest['tags'] if not tag.startswith(manifest['registry'])}
        assert intermediate & parents


@ENGINES
def test_build_cache_records(engine: tuple) -> None:
    """BuildKit left regular records and cache-mount records."""
    _host, manifest, api = engine
    types = [record.get('Type') for record in _df_build_cache(api)]
    assert 'exec.cachemount' in types, types
    assert 'regular' in types, types
    assert any(build['builder'] == 'buildkit' and not build['ok'] for build in manifest['builds'])


@ENGINES
def test_pulled_images_have_digests_and_no_parent(engine: tuple) -> None:
    """Images that went through the registry carry RepoDigests and no parent chain; a container refers to one by digest."""
    _host, manifest, api = engine
    assert manifest['registry'] and manifest['registry_refs']
    for entry in manifest['registry_refs']:
        repo = entry['ref'].rsplit(':', 1)[0]
        assert entry['digest'].startswith('sha256:'), entry
        image = api.inspect_image(entry['ref'])
        assert '%s@%s' % (repo, entry['digest']) in image['RepoDigests']
        assert not image.get('Parent')
        history = api.history(entry['ref'])
        assert len(history) > 1 and all(step['Id'] == '<missing>' for step in history[1:]), history
    container = api.inspect_container(manifest['digest_container'])
    assert '@sha256:' in container['Config']['Image']
    repo, digest = container['Config']['Image'].split('@')
    assert any(entry['ref'].startswith(repo + ':') and entry['digest'] == digest for entry in manifest['registry_refs'])
    assert container['Image'] == api.inspect_image(container['Config']['Image'])['Id']


@ENGINES
def test_containers_in_every_state(engine: tuple) -> None:
    """Created, running, paused, exited 0 and exited non-zero containers."""
    _host, manifest, api = engine
    states = [(c['State'], api.inspect_container(c['Id'])['State']['ExitCode'])
              for c in api.containers(all=True, filters={'label': SCENARIO_LABEL})]
    assert {'created', 'running', 'paused', 'exited'} <= {state for state, _code in states}, states
    assert ('exited', 0) in states
    assert any(state == 'exited' and code not in (0, None) for state, code in states), states
    assert len(states) == len(manifest['containers'])


@ENGINES
def test_volumes_and_networks(engine: tuple) -> None:
    """Anonymous volumes (used and orphaned), named volumes used and unused; user networks with and without containers."""
    _host, manifest, api = engine
    volumes = {volume['Name'] for volume in api.volumes()['Volumes'] or []}
    unused = {volume['Name'] for volume in api.volumes(filters={'dangling': True})['Volumes'] or []}
    mounted = {mount['Name'] for c in api.containers(all=True) for mount in c['Mounts'] if mount.get('Type') == 'volume'}
    assert any(_anonymous(name) for name in mounted), mounted
    assert any(_anonymous(name) for name in unused), unused
    from_dockerfile = [mount for c in api.containers(all=True) for mount in c['Mounts']
                       if mount.get('Type') == 'volume' and _anonymous(mount['Name'])
                       and mount['Destination'] in (api.inspect_image(c['ImageID'])['Config'].get('Volumes') or {})]
    assert from_dockerfile
    named = set(manifest['volumes'])
    assert named <= volumes
    assert named & mounted and named & unused
    user_networks = [api.inspect_network(n['Id']) for n in api.networks() if n['Name'] in manifest['networks']]
    assert len(user_networks) == len(manifest['networks'])
    assert any(network['Containers'] for network in user_networks)
    attached = {name for c in api.containers(all=True) for name in c['NetworkSettings']['Networks']}
    assert any(network['Name'] not in attached for network in user_networks)


@ENGINES
def test_labels(engine: tuple) -> None:
    """base_image labels naming a present and an absent image; keep labels on every kind of object."""
    _host, _manifest, api = engine
    bases = {(api.inspect_image(image['Id'])['Config']['Labels'] or {}).get('base_image')
             for image in api.images(filters={'label': 'base_image'})}
    tags = {tag for image in api.images() for tag in image.get('RepoTags') or []}
    assert bases & tags
    assert ABSENT_BASE in bases and ABSENT_BASE not in tags
    keep = {'label': '%s=true' % KEEP_LABEL}
    assert api.images(filters=keep)
    assert api.containers(all=True, filters=keep)
    assert api.volumes(filters=keep)['Volumes']
    assert api.networks(filters=keep)


def test_same_seed_same_structure_on_twins(fleet: Fleet, seeded: Dict[str, dict]) -> None:
    """Hosts of the same engine and store seeded alike hold the same tags, containers, volumes, networks and image count."""
    shapes = {}
    for name in HOST_NAMES:
        client = docker_client(fleet.host(name))
        try:
            shapes[name] = structure(client)
        finally:
            client.close()
    for name in HOST_NAMES:  # the manifest tells what is there
        assert sorted(seeded[name]['tags']) == shapes[name]['tags'], name
        assert set(seeded[name]['containers']) | {seeded[name]['digest_container']} == set(shapes[name]['containers']), name
        assert sorted(seeded[name]['networks']) == shapes[name]['networks'], name
    assert shapes['h1'] == shapes['h3']
    assert shapes['h2'] == shapes['h4']
    assert shapes['h1']['tags'] == shapes['h2']['tags']
    assert seeded['h1']['tags'] == seeded['h3']['tags'] and len(seeded['h1']['tags']) >= 10
