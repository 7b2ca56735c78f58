# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_cache_facts over SSH against real engines, compared with each engine's own CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, Set

import pytest
from ansible_cli import read_cached_facts, run_module, run_playbook
from fleet_helpers import cli, cli_json_lines, reset, ssh

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import api_at_least
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import API_DF_TYPE_FILTER
from ansible_collections.cachewarden.docker.plugins.module_utils.records import normalize_reference
from ansible_collections.cachewarden.docker.plugins.module_utils.units import human_size
from sandbox.fleet import Fleet, Host

HOSTS_UNDER_TEST = ('h1', 'h2')  # 20.10 overlay2, 28.5 containerd store
DF_ROWS = {'Images': 'images', 'Containers': 'containers', 'Local Volumes': 'volumes', 'Build Cache': 'build_cache'}


@pytest.fixture(scope='module', name='facts')
def facts_fixture(fleet: Fleet, inventory: str) -> Dict[str, Dict[str, Any]]:
    """docker_cache facts of the hosts under test, freshly seeded, gathered over SSH."""
    reset(fleet, *(fleet.host(name) for name in HOSTS_UNDER_TEST))
    results = run_module(inventory, ':'.join(HOSTS_UNDER_TEST), 'cachewarden.docker.docker_cache_facts')
    assert set(results) == set(HOSTS_UNDER_TEST)
    for name, result in results.items():
        assert not result.get('failed'), (name, result)
        assert result['changed'] is False
    assert fleet.hosts
    return {name: result['ansible_facts']['docker_cache'] for name, result in results.items()}


def _ids(host: Host, *args: str) -> Set[str]:
    return set(cli(host, 'images', '-q', '--no-trunc', *args).split())


@pytest.mark.parametrize('name', HOSTS_UNDER_TEST)
def test_df_table_equals_docker_system_df(fleet: Fleet, facts: Dict[str, Dict[str, Any]], name: str) -> None:
    """TOTAL, ACTIVE, SIZE and RECLAIMABLE per type are exactly what `docker system df` prints."""
    host = fleet.host(name)
    rows = {row['Type']: row for row in cli_json_lines(host, 'system', 'df')}
    assert set(rows) == set(DF_ROWS)
    for cli_type, key in DF_ROWS.items():
        ours = facts[name]['disk_usage'][key]
        row = rows[cli_type]
        assert int(row['TotalCount']) == ours['total'], (cli_type, row, ours)
        assert int(row['Active']) == ours['active'], (cli_type, row, ours)
        assert row['Size'] == human_size(ours['size_bytes']), (cli_type, row, ours)
        assert row['Reclaimable'].split(' ')[0] == human_size(ours['reclaimable_bytes']), (cli_type, row, ours)


@pytest.mark.parametrize('name', HOSTS_UNDER_TEST)
def test_image_counts_equal_cli_filters(fleet: Fleet, facts: Dict[str, Dict[str, Any]], name: str) -> None:
    """all / dangling / intermediate / in use / unused counts equal what the CLI's listings give."""
    host = fleet.host(name)
    every = _ids(host, '-a')
    top = _ids(host)
    dangling = _ids(host, '--filter', 'dangling=true')
    container_ids = cli(host, 'ps', '-a', '-q', '--no-trunc').split()
    used = set(cli(host, 'inspect', '--format', '{{.Image}}', *container_ids).split()) if container_ids else set()
    counts = facts[name]['images']
    assert counts['total'] == len(every)
    assert counts['dangling'] == len(dangling) > 0
    assert counts['intermediate'] == len(every - top)
    assert counts['in_use'] == len(used & every) > 0
    assert counts['unused'] == len(top - used)
    tagged = {line.split()[0] for line in cli(host, 'images', '--no-trunc', '--format', '{{.ID}} {{.Tag}}').splitlines()
              if not line.endswith('<none>')}
    assert counts['tagged'] == len(tagged)


@pytest.mark.parametrize('name', HOSTS_UNDER_TEST)
def test_engine_and_filesystem(fleet: Fleet, facts: Dict[str, Dict[str, Any]], name: str) -> None:
    """Engine identity as the CLI reports it; filesystem numbers as df on the host reports them."""
    host = fleet.host(name)
    engine = facts[name]['engine']
    assert engine['version'] == cli(host, 'version', '--format', '{{.Server.Version}}').strip()
    assert engine['api_version'] == cli(host, 'version', '--format', '{{.Server.APIVersion}}').strip()
    assert engine['image_store'] == ('containerd' if host.store == 'containerd' else 'overlay2')
    assert engine['root_dir'] == '/var/lib/docker'
    size, used, avail = (int(v) for v in ssh(fleet, host, 'df -B1 --output=size,used,avail /var/lib/docker')
                         .splitlines()[1].split())
    filesystem = facts[name]['filesystem']
    assert filesystem['path'] == '/var/lib/docker'
    assert filesystem['size_bytes'] == size
    # The machine's disk is shared and busy: allow what other writers change between the two reads.
    assert abs(filesystem['free_bytes'] - avail) < 256 * 1024 * 1024
    assert abs(filesystem['used_bytes'] - used) < 256 * 1024 * 1024
    assert 0 < filesystem['used_percent'] < 100


@pytest.mark.parametrize('name', HOSTS_UNDER_TEST)
def test_base_images_from_labels(fleet: Fleet, facts: Dict[str, Dict[str, Any]], name: str) -> None:
    """Every base_image label is listed once, present exactly when the CLI can inspect the reference."""
    host = fleet.host(name)
    labels = set()
    for image_id in _ids(host, '-a'):
        label = json.loads(cli(host, 'image', 'inspect', '--format', '{{json .Config.Labels}}', image_id)) or {}
        if label.get('base_image'):
            labels.add(normalize_reference(label['base_image']))
    listed = {entry['reference']: entry for entry in facts[name]['base_images']}
    assert set(listed) == labels and labels
    presence = set()
    for reference, entry in listed.items():
        found = subprocess.run([host.cli, '--host', host.docker_host, 'image', 'inspect', reference],
                               capture_output=True, check=False).returncode == 0
        assert entry['present'] is found, entry
        presence.add(found)
    assert presence == {True, False}, 'the scenario holds both present and absent base images'


def test_summary_is_small_and_detail_bounded(fleet: Fleet, inventory: str, facts: Dict[str, Dict[str, Any]]) -> None:
    """The default facts stay a few KB; detail lists are cut at detail_limit and say how much was cut."""
    for name in HOSTS_UNDER_TEST:
        assert len(json.dumps(facts[name])) < 8 * 1024
        assert 'detail' not in facts[name]
    results = run_module(inventory, 'h1', 'cachewarden.docker.docker_cache_facts',
                         {'detail': ['images', 'build_cache'], 'detail_limit': 3})
    detail = results['h1']['ansible_facts']['docker_cache']['detail']
    total = results['h1']['ansible_facts']['docker_cache']['images']['total']
    assert len(detail['images']) == 3
    assert detail['truncated']['images'] == total - 3
    assert [i['size_bytes'] for i in detail['images']] == sorted((i['size_bytes'] for i in detail['images']), reverse=True)
    assert fleet.hosts


def test_sizes_switch(fleet: Fleet, inventory: str) -> None:
    """sizes=false skips the container and volume walks where the API allows it (1.42+), not on 20.10."""
    results = run_module(inventory, 'h1:h2', 'cachewarden.docker.docker_cache_facts', {'sizes': False})
    for name in ('h1', 'h2'):
        facts = results[name]['ansible_facts']['docker_cache']
        walks = not api_at_least(fleet.host(name).api_version, API_DF_TYPE_FILTER)  # API 1.41 always walks
        assert facts['sizes_computed'] is walks, (name, fleet.host(name).api_version)
        if not walks:
            assert facts['disk_usage']['volumes']['size_bytes'] == 0
    assert fleet.host('h2').store == 'containerd'


def test_fact_cache_and_constructed_groups(fleet: Fleet, inventory: str, tmp_path: Path) -> None:
    """gather fills the jsonfile fact cache; the constructed plugin groups hosts by cache pressure from it."""
    cache = tmp_path / 'facts'
    env = {'ANSIBLE_CACHE_PLUGIN': 'jsonfile', 'ANSIBLE_CACHE_PLUGIN_CONNECTION': str(cache),
           'ANSIBLE_CACHE_PLUGIN_TIMEOUT': '3600'}
    gathered = run_playbook('playbooks/gather.yml', [inventory], env=env)
    assert gathered.returncode == 0, gathered.stdout + gathered.stderr
    for name in fleet.hosts:
        assert read_cached_facts(cache, name)['docker_cache']['disk_usage']['images']['total'] > 0
    # Make one host visibly different: its build cache goes away.
    cli(fleet.host('h3'), 'builder', 'prune', '-a', '-f')
    regathered = run_playbook('playbooks/gather.yml', [inventory], env=env, extra_vars={'cachewarden_hosts': 'h3'})
    assert regathered.returncode == 0, regathered.stdout
    constructed = tmp_path / 'pressure.constructed.yml'
    constructed.write_text('plugin: ansible.builtin.constructed\nstrict: false\ngroups:\n'
                           '  build_cache_reclaimable: docker_cache.disk_usage.build_cache.reclaimable_bytes > 0\n'
                           '  docker_disk_known: docker_cache.filesystem.used_percent > 0\n', encoding='utf-8')
    from ansible_cli import BIN, ansible_env  # pylint: disable=import-outside-toplevel
    graph = subprocess.run([str(BIN / 'ansible-inventory'), '-i', inventory, '-i', str(constructed), '--list'],
                           env=ansible_env(env), capture_output=True, text=True, check=True, timeout=120)
    groups = json.loads(graph.stdout)
    assert sorted(groups['build_cache_reclaimable']['hosts']) == sorted(set(fleet.hosts) - {'h3'})
    assert sorted(groups['docker_disk_known']['hosts']) == sorted(fleet.hosts)
