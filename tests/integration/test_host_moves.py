# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host changes while a prune runs: a moved tag, a new container on a planned network, two runs at once,
a damaged state file, a refused plan, a service stopped yesterday. Real engines, 20.10/overlay2 (h1) and
28.5/containerd (h2); races are made deterministic by running the module's own steps in-process and
changing the engine between plan and apply."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from ansible_cli import run_module
from engine_proxy import EngineProxy
from fleet_helpers import cli, engine_listing, reset, ssh
from prune_helpers import MODULE, ids

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import Executor
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot
from sandbox import registry
from sandbox.builds import BUSYBOX_DOCKERFILE, context_tar, legacy_build
from sandbox.fleet import Fleet, docker_client

HOSTS = ['h1', 'h2']


def _engine(host) -> Engine:
    return Engine({'docker_host': host.docker_host, 'api_version': 'auto', 'timeout': 60})


def _new_image(client, tag: str) -> str:
    """An image that no plan has seen, tagged ``tag`` (taking the tag from whatever image held it)."""
    built = legacy_build(client, context_tar(BUSYBOX_DOCKERFILE + 'LABEL moved.by.test="%s"\n' % uuid.uuid4().hex), tag)
    assert built.ok, built.error
    return built.image_id


@pytest.mark.parametrize('name', HOSTS)
def test_a_tag_moved_to_a_new_image_between_plan_and_delete_stays_on_the_new_image(fleet: Fleet, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    engine = _engine(host)
    policy = validate_policy({'images': 'unused', 'protect_base_images': False})
    plan = make_plan(read_snapshot(engine, image_detail=True), policy)
    planned = [item for item in plan.items if item.type == 'image' and item.action == 'remove']
    several = next(item for item in planned if len(item.names) > 1)
    single = next(item for item in planned if len(item.names) == 1)
    client = docker_client(host)
    try:
        moved = {several.names[0]: _new_image(client, several.names[0]), single.names[0]: _new_image(client, single.names[0])}
        outcome = Executor(engine, policy).run(plan)
        for tag, new_id in moved.items():
            assert client.api.inspect_image(tag)['Id'] == new_id, 'the moved tag %s stays on the new image' % tag
        skipped = {entry['id']: entry['reason'] for entry in outcome.skipped}
        assert 'names another image' in skipped[several.id] and 'names another image' in skipped[single.id]
        assert sorted(client.api.inspect_image(several.id)['RepoTags']) == sorted(several.names[1:]), \
            'the image whose tag moved keeps its other tags (the next run plans the host as it is then)'
        removed = {item.id for item in outcome.removed}
        assert several.id not in removed and single.id not in removed and removed, 'the rest of the plan ran'
    finally:
        client.close()


@pytest.mark.parametrize('name', HOSTS)
def test_a_container_created_on_a_planned_network_keeps_it(fleet: Fleet, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    engine = _engine(host)
    policy = validate_policy({'networks': True})
    plan = make_plan(read_snapshot(engine), policy)
    network = next(item for item in plan.items if item.type == 'network')
    client = docker_client(host)
    try:
        image = client.api.images()[0]['Id']
        config = client.api.create_host_config(network_mode=network.names[0])
        created = client.api.create_container(image, command=['true'], host_config=config, name='cw-joins-net')
        outcome = Executor(engine, policy).run(plan)
        skipped = {entry['id']: entry['reason'] for entry in outcome.skipped}
        assert skipped[network.id] == 'container cw-joins-net uses it since the plan was made'
        assert client.api.inspect_network(network.id)['Name'] == network.names[0]
        client.api.start(created['Id'])  # it can still start on its network
        others = [item for item in plan.items if item.id != network.id]
        assert {item.id for item in outcome.removed} == {item.id for item in others}
    finally:
        client.close()


@pytest.mark.parametrize('name', HOSTS)
def test_two_runs_at_once_remove_the_plan_once_between_them(fleet: Fleet, inventory: str, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    folder = '/tmp/cw-lock-%s' % uuid.uuid4().hex
    args = {'containers': True, 'images': 'unused', 'networks': True, 'protect_base_images': False}
    plan = run_module(inventory, name, MODULE, dict(args, state_path=folder + '/plan.json'), check=True)[name]['plan']
    assert plan
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda state: run_module(inventory, name, MODULE, dict(args, state_path=state))[name],
                             [folder + '/cron.json', folder + '/awx.json']))
    for run in runs:
        assert not run['failed'], run.get('msg')
    removed = [(item['type'], item['id'], item['action']) for run in runs for item in run['removed']]
    assert len(removed) == len(set(removed)), 'no item is counted by both runs'
    assert set(removed) == ids(plan), 'together they removed exactly the plan'
    assert sorted(run['changed'] for run in runs) == [False, True], 'the run that waited found nothing left'


@pytest.mark.parametrize('content, why', [
    ('{"version": 1, "events_until": "abc", "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": NaN, "images": {}}', 'could not be read'),
    ('{"version": 1, "events_until": 4102444800, "images": {}}', 'later than now'),
])
def test_a_damaged_state_file_warns_and_is_rewritten(fleet: Fleet, inventory: str, content: str, why: str) -> None:
    host = fleet.host('h1')
    path = '/tmp/cw-state-%s.json' % uuid.uuid4().hex
    ssh(fleet, host, "printf '%%s' '%s' > %s" % (content, path))
    result = run_module(inventory, host.name, MODULE, {'images': 'dangling', 'older_than': '10000d', 'state_path': path})[host.name]
    assert not result['failed'], result.get('msg')
    assert why in result['_output'] and path in result['_output']
    assert '"events_until": ' in ssh(fleet, host, 'cat %s' % path) and 'abc' not in ssh(fleet, host, 'cat %s' % path)


@pytest.mark.parametrize('name', HOSTS)
def test_a_plan_refused_by_max_deletions_is_unchanged_and_removes_nothing(fleet: Fleet, inventory: str, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    before = engine_listing(host)
    result = run_module(inventory, name, MODULE, {'images': 'unused', 'containers': True, 'max_deletions': 1,
                                                  'state_path': '/tmp/cw-state-%s.json' % uuid.uuid4().hex})[name]
    assert result['failed'] and 'max_deletions=1' in result['msg'] and len(result['plan']) > 1
    assert result['changed'] is False and result['removed'] == []
    assert engine_listing(host) == before


def test_a_stopped_container_counts_its_age_from_when_it_stopped(fleet: Fleet, inventory: str) -> None:
    host = fleet.host('h1')
    reset(fleet, host)
    client = docker_client(host)
    try:
        image = client.api.images()[0]['Id']
        service = client.api.create_container(image, command=['true'], name='cw-service',
                                              host_config=client.api.create_host_config(network_mode='none'))['Id']
        time.sleep(4)  # created 4 s ago, stopped just now
        client.api.start(service)
        assert client.api.wait(service, timeout=30)['StatusCode'] == 0
        result = run_module(inventory, host.name, MODULE, {'containers': True, 'older_than': '3s',
                                                           'state_path': '/tmp/cw-state-%s.json' % uuid.uuid4().hex})
        result = result[host.name]
        assert not result['failed'], result.get('msg')
        assert service not in {item['id'] for item in result['removed']}
        assert {entry['id']: entry['reason'] for entry in result['skipped_items']}[service] == 'newer than older_than'
        assert result['removed'], 'containers stopped long enough ago still go'
        assert client.api.inspect_container(service)['State']['Status'] == 'exited'
    finally:
        client.close()


@pytest.mark.parametrize('name', HOSTS)
def test_a_keep_glob_on_a_digest_keeps_an_image_pulled_by_digest(fleet: Fleet, inventory: str, name: str) -> None:
    """A pulled-by-digest image has no tag, so `docker image prune` (and images=dangling) removes it; a keep
    glob on its digest reference protects it."""
    host = fleet.host(name)
    reset(fleet, host)
    ref = '%s/cw-digest/%s:1' % (registry.ensure(), name)
    client = docker_client(host)
    try:
        assert _new_image(client, ref)
        repo = ref.rsplit(':', 1)[0]
        for message in client.api.push(repo, tag='1', stream=True, decode=True):
            assert not message.get('error'), message
        client.api.remove_image(ref)
        client.api.pull(repo, tag='1')
        digest = next(d for d in client.api.inspect_image(ref)['RepoDigests'] if d.startswith(repo + '@'))
        client.api.remove_image(ref)
        client.api.pull(digest)  # pulled by digest: the image is known by its digest reference only
        pulled = client.api.inspect_image(digest)['Id']
        args = {'images': 'unused', 'state_path': '/tmp/cw-state-%s.json' % uuid.uuid4().hex}
        kept = run_module(inventory, name, MODULE, dict(args, keep_images=[repo + '@sha256:*']), check=True)[name]
        assert pulled not in {item['id'] for item in kept['plan']}
        assert {e['id']: e['reason'] for e in kept['skipped_items']}[pulled] == 'keep_images: %s@sha256:*' % repo
        assert pulled in {item['id'] for item in run_module(inventory, name, MODULE, args, check=True)[name]['plan']}
        # Whether it counts as dangling is the engine's call: 20.10 says yes, the containerd store no.
        dangling = run_module(inventory, name, MODULE, dict(args, images='dangling'), check=True)[name]['plan']
        by_cli = cli(host, 'images', '--filter', 'dangling=true', '--quiet', '--no-trunc').split()
        assert (pulled in {item['id'] for item in dangling}) is (pulled in by_cli)
    finally:
        client.close()


@pytest.mark.parametrize('name', HOSTS)
def test_anonymous_volumes_are_what_the_engine_calls_anonymous(fleet: Fleet, inventory: str, name: str) -> None:
    host = fleet.host(name)
    reset(fleet, host)
    client = docker_client(host)
    try:
        hex_named = uuid.uuid4().hex * 2  # 64 hex digits, created by name
        client.api.create_volume(hex_named, labels={'com.example.team': 'ci'})
        image = client.api.images()[0]['Id']
        holder = client.api.create_container(image, command=['true'], volumes=['/data'],
                                             host_config=client.api.create_host_config(network_mode='none'))
        anonymous = next(m['Name'] for m in client.api.inspect_container(holder['Id'])['Mounts'] if m['Type'] == 'volume')
        client.api.remove_container(holder['Id'])  # without v: the anonymous volume stays, unused
        result = run_module(inventory, name, MODULE, {'volumes': 'anonymous',
                                                      'state_path': '/tmp/cw-state-%s.json' % uuid.uuid4().hex})[name]
        removed = {item['id'] for item in result['removed']}
        assert anonymous in removed and hex_named not in removed
        assert client.api.inspect_volume(hex_named)['Name'] == hex_named
    finally:
        client.close()


def test_one_slow_delete_does_not_stop_the_run(fleet: Fleet, inventory: str) -> None:
    """A DELETE that takes longer than ``timeout`` while the engine answers: tried again, the run goes on."""
    host = fleet.host('h1')
    reset(fleet, host)
    args = {'containers': True, 'state_path': '/tmp/cw-state-%s.json' % uuid.uuid4().hex}
    plan = run_module(inventory, host.name, MODULE, args, check=True)[host.name]['plan']
    slow = plan[0]['id']
    delayed = []

    def rule(method: str, path: str):
        if method == 'DELETE' and slow in path and not delayed:
            delayed.append(path)
            time.sleep(6)
        return None

    listen, url = host.run_dir / 'cw-proxy-slowdelete.sock', 'unix:///var/run/cw-proxy-slowdelete.sock'
    with EngineProxy(listen, host.socket, rule=rule):
        result = run_module(inventory, host.name, MODULE, dict(args, docker_host=url, timeout=3))[host.name]
    assert delayed, 'the proxy held the first DELETE'
    assert not result['failed'], result.get('msg')
    assert ids(result['removed']) == ids(plan), 'the slow item went on its second try and the rest of the plan ran'
