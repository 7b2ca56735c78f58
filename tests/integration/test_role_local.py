# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cachewarden.docker.cache_policy role and the enforce playbook against a real, local engine.

The module starts its own dockerd under a temporary folder (ENGINES.md section 1), seeds it through
the Docker SDK (legacy builder, FROM scratch + busybox), runs ansible-playbook on
``localhost ansible_connection=local`` and stops the engine afterwards. It needs no sandbox fleet.

The tests run in file order and share the engine: the ones before ``test_enforce_removes`` must leave
it unchanged.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import docker
import pytest
from ansible_cli import REPO, run_playbook

from ansible_collections.cachewarden.docker.plugins.module_utils.units import human_size

BUSYBOX_CANDIDATES = ('/bin/busybox', '/usr/bin/busybox')
_RECAP = re.compile(r'^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+'
                    r'skipped=(\d+)\s+rescued=(\d+)', re.MULTILINE)
# The role defaults without age limit plan: the stopped container, the dangling image and its untagged
# parent (the v1 marker layer).
PLANNED = 3
ROLE_PLAYBOOK = """\
---
- name: Apply the cache policy role
  hosts: all
  gather_facts: false
  roles:
    - role: cachewarden.docker.cache_policy
"""


@dataclass
class LocalEngine:
    """A dockerd of this test module, and what the seed put in it."""

    root: Path
    url: str
    client: docker.DockerClient
    base_image: str
    current_image: str
    dangling_image: str
    dangling_parent: str
    stopped_container: str

    def listing(self) -> Dict[str, Any]:
        """Everything a prune could touch, to compare before and after."""
        return {
            'images': sorted((image.id, tuple(sorted(image.tags))) for image in self.client.images.list(all=True)),
            'containers': sorted(container.id for container in self.client.containers.list(all=True)),
            'volumes': sorted(volume.name for volume in self.client.volumes.list()),
            'networks': sorted(network.id for network in self.client.networks.list()),
        }

    def image_ids(self) -> set:
        """IDs of all images (docker images -a)."""
        return {image.id for image in self.client.images.list(all=True)}

    def container_ids(self) -> set:
        """IDs of all containers (docker ps -a)."""
        return {container.id for container in self.client.containers.list(all=True)}


def _busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise AssertionError('busybox-static is needed to seed the engine (apt-get install busybox-static)')


def _build(client: docker.DockerClient, tag: str, marker: str, busybox: Path) -> str:
    """FROM scratch + busybox + a marker file, through the legacy builder (plain POST /build)."""
    dockerfile = 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY marker /marker\nLABEL org.example.test=cache_policy\n'
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        for name, data, mode in (('Dockerfile', dockerfile.encode(), 0o644), ('marker', marker.encode(), 0o644),
                                 ('busybox', busybox.read_bytes(), 0o755)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    image = client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True)[0]
    return image.id


def _start_dockerd(root: Path) -> Tuple[subprocess.Popen, str]:
    dockerd = shutil.which('dockerd')
    assert dockerd, 'dockerd is needed (apt-get install docker.io)'
    url = 'unix://%s' % (root / 'docker.sock')
    log = (root / 'dockerd.log').open('wb')
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [dockerd, '-H', url, '--data-root', str(root / 'data'), '--exec-root', str(root / 'exec'),
         '--pidfile', str(root / 'docker.pid'), '--bridge=none', '--iptables=false', '--ip-masq=false'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process, url


def _wait_ready(process: subprocess.Popen, url: str, root: Path) -> docker.DockerClient:
    deadline = time.monotonic() + 60
    last_error: Optional[Exception] = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            client = docker.DockerClient(base_url=url, timeout=60)
            if client.ping():
                return client
        except Exception as exc:  # pylint: disable=broad-except  # not up yet
            last_error = exc
        time.sleep(0.2)
    raise AssertionError('dockerd did not answer /_ping (%s); log:\n%s'
                         % (last_error, (root / 'dockerd.log').read_text(errors='replace')[-3000:]))


def _stop_dockerd(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope='module', name='engine')
def engine_fixture() -> Iterator[LocalEngine]:
    """An engine of our own (a short path under /tmp: unix socket paths are limited to 108 bytes)."""
    root = Path(tempfile.mkdtemp(prefix='cw-role-', dir='/tmp'))
    process, url = _start_dockerd(root)
    try:
        client = _wait_ready(process, url, root)
        busybox = _busybox()
        base = _build(client, 'cwrole/base:1', 'base', busybox)
        dangling = _build(client, 'cwrole/app:latest', 'v1', busybox)
        current = _build(client, 'cwrole/app:latest', 'v2', busybox)   # re-points the tag: v1 is dangling now
        container = client.containers.create(current, command=['/bin/busybox', 'true'], name='cwrole-stopped')
        assert dangling != current and not client.images.get(dangling).tags
        parent = client.images.get(dangling).attrs['Parent']   # the v1 marker layer: only v1 builds on it
        yield LocalEngine(root=root, url=url, client=client, base_image=base, current_image=current,
                          dangling_image=dangling, dangling_parent=parent, stopped_container=container.id)
        client.close()
    finally:
        _stop_dockerd(process)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='module', name='inventory')
def inventory_fixture(engine: LocalEngine) -> str:
    """localhost over the local connection, on this interpreter (it has the Docker SDK)."""
    path = engine.root / 'inventory.ini'
    path.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable,
                    encoding='utf-8')
    return str(path)


@pytest.fixture(scope='module', name='role_playbook')
def role_playbook_fixture(engine: LocalEngine) -> str:
    """A play that applies only the role."""
    path = engine.root / 'role.yml'
    path.write_text(ROLE_PLAYBOOK, encoding='utf-8')
    return str(path)


def role_vars(engine: LocalEngine, **extra: Any) -> Dict[str, Any]:
    """The role's defaults, pointed at our engine, with no age limit (the seed is seconds old)."""
    values = {
        'cache_policy_docker_host': engine.url,
        'cache_policy_state_path': str(engine.root / 'last-used.json'),
        'cache_policy_older_than': None,
        'cache_policy_report_path': str(engine.root / 'report'),
    }
    values.update(extra)
    return values


def play(playbook: str, inventory: str, extra_vars: Dict[str, Any], check: bool = False,
         tags: Optional[str] = None) -> Dict[str, Any]:
    """Run a playbook; return rc, output, the recap counts of localhost and the custom stats."""
    started = time.monotonic()
    completed = run_playbook(playbook, [inventory], extra_vars=extra_vars, check=check, tags=tags,
                             env={'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
                                  'ANSIBLE_SHOW_CUSTOM_STATS': '1', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'})
    output = completed.stdout + completed.stderr
    recap = _RECAP.search(completed.stdout)
    assert recap, 'no play recap (rc=%d)\n%s' % (completed.returncode, output)
    counts = dict(zip(('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued'), map(int, recap.groups())))
    stats: Dict[str, Any] = {}
    for line in completed.stdout.splitlines():
        if line.strip().startswith('RUN: '):
            stats = json.loads(line.strip()[len('RUN: '):])
    return {'rc': completed.returncode, 'output': output, 'recap': counts, 'stats': stats,
            'seconds': time.monotonic() - started}


def report_entry(engine: LocalEngine, entry: Dict[str, Any]) -> Dict[str, Any]:
    """The role's report file of localhost, after checking it holds the set_stats entry."""
    report = json.loads((engine.root / 'report' / 'localhost.json').read_text(encoding='utf-8'))
    assert list(report) == ['localhost']
    assert {key: report['localhost'][key] for key in entry} == entry
    assert set(report['localhost']) - set(entry) >= {'finished_at', 'usage_before', 'usage_after'}
    return report['localhost']


def summary_entry(result: Dict[str, Any]) -> Dict[str, Any]:
    """The set_stats entry of localhost."""
    assert 'cache_policy_summary' in result['stats'], result['output']
    return result['stats']['cache_policy_summary']['localhost']


@pytest.mark.parametrize('bad, variable', [
    ({'cache_policy_images': 'everything'}, 'cache_policy_images'),
    ({'cache_policy_keep_latest': -1}, 'cache_policy_keep_latest'),
    ({'cache_policy_containers': 'perhaps'}, 'cache_policy_containers'),
    ({'cache_policy_older_than': 'a week'}, 'cache_policy_older_than'),
    ({'cache_policy_max_deletions': -5}, 'cache_policy_max_deletions'),
    ({'cache_policy_max_deletions': 'many'}, 'cache_policy_max_deletions'),
    ({'cache_policy_low_watermark_percent': '90', 'cache_policy_high_watermark_percent': '80',
      'cache_policy_images': 'unused'}, 'cache_policy_low_watermark_percent'),
])
def test_invalid_input_fails_before_any_change(engine: LocalEngine, inventory: str, role_playbook: str,
                                               bad: Dict[str, Any], variable: str) -> None:
    """Argument specs and the role's own checks stop the play before the modules run."""
    before = engine.listing()
    result = play(role_playbook, inventory, role_vars(engine, **bad))
    assert result['rc'] != 0
    assert result['recap']['failed'] == 1
    assert variable in result['output']
    assert 'TASK [cachewarden.docker.cache_policy : Read the Docker cache facts]' not in result['output']
    assert 'TASK [cachewarden.docker.cache_policy : Apply the cache policy]' not in result['output']
    assert engine.listing() == before


def test_failed_prune_is_summarized_and_fails_the_host(engine: LocalEngine, inventory: str,
                                                       role_playbook: str) -> None:
    """max_deletions below the plan: the host fails, nothing is removed, the summary says why."""
    before = engine.listing()
    result = play(role_playbook, inventory, role_vars(engine, cache_policy_max_deletions=1))
    assert result['rc'] != 0
    assert result['recap']['failed'] == 1 and result['recap']['rescued'] == 1
    entry = summary_entry(result)
    assert entry['failed'] is True and entry['changed'] is False and entry['removed'] == 0
    assert entry['planned'] == PLANNED
    assert any('max_deletions' in error for error in entry['errors'])
    assert engine.listing() == before


@pytest.mark.parametrize('tags', [None, 'enforce'])
def test_enforce_playbook_maps_cachewarden_policy(engine: LocalEngine, inventory: str, tags: Optional[str]) -> None:
    """playbooks/enforce.yml still takes the `cachewarden_policy` dict (make demo), in check mode, with
    --tags enforce too."""
    before = engine.listing()
    # As before the role: keys left out take the module's defaults (here: no age limit), not the role's.
    policy = {'containers': True, 'images': 'unused', 'state_path': str(engine.root / 'last-used.json')}
    result = play(str(REPO / 'playbooks' / 'enforce.yml'), inventory,
                  {'cachewarden_policy': policy, 'cache_policy_docker_host': engine.url}, check=True, tags=tags)
    assert result['rc'] == 0, result['output']
    entry = summary_entry(result)
    # images=unused (from the dict) plans more than the role default (dangling): the container, the
    # dangling image, the image only that container used and the unused base image.
    assert entry['planned'] >= 4, entry
    assert entry['check_mode'] is True and entry['changed'] is True and entry['removed'] == 0
    assert 'would remove %d items' % entry['planned'] in result['output']
    assert result['recap']['changed'] == 1
    assert engine.listing() == before


def test_check_mode_changes_nothing(engine: LocalEngine, inventory: str, role_playbook: str) -> None:
    """--check: the plan (see PLANNED), changed, nothing touched."""
    before = engine.listing()
    result = play(role_playbook, inventory, role_vars(engine), check=True)
    assert result['rc'] == 0, result['output']
    assert result['recap']['changed'] == 1, result['output']
    entry = summary_entry(result)
    assert entry == {'changed': True, 'check_mode': True, 'errors': [], 'failed': False, 'planned': PLANNED,
                     'predicted_bytes': entry['predicted_bytes'], 'reclaimed_bytes': 0, 'removed': 0,
                     'kept_by_rule': entry['kept_by_rule'],
                     'summary': 'would remove %d items, %s would be freed' % (
                         PLANNED, human_size(entry['predicted_bytes'], sep=' '))}
    assert entry['predicted_bytes'] > 0
    assert engine.listing() == before
    assert not (engine.root / 'last-used.json').exists()
    report = report_entry(engine, entry)
    # Check mode: the usage before, no after (nothing ran); only the cache types when one side is missing.
    assert report['usage_after'] is None and sorted(report['usage_before']) == ['build_cache', 'images']


def test_enforce_removes_and_reports(engine: LocalEngine, inventory: str, role_playbook: str) -> None:
    """A real run removes the stopped container, the dangling image and its parent, and nothing else."""
    images, containers = engine.image_ids(), engine.container_ids()
    result = play(role_playbook, inventory, role_vars(engine))
    assert result['rc'] == 0, result['output']
    assert result['recap']['changed'] == 1, result['output']
    assert not {engine.dangling_image, engine.dangling_parent} & engine.image_ids()
    assert engine.stopped_container not in engine.container_ids()
    assert {engine.base_image, engine.current_image} <= engine.image_ids()
    assert engine.image_ids() < images and engine.container_ids() == containers - {engine.stopped_container}
    # One module call: the prune reads the facts before and after itself.
    assert 'TASK [cachewarden.docker.cache_policy : Read the Docker cache facts]' not in result['output']
    assert result['output'].count('TASK [cachewarden.docker.cache_policy : Apply the cache policy]') == 1
    entry = summary_entry(result)
    assert entry['changed'] is True and entry['check_mode'] is False and entry['failed'] is False
    assert entry['removed'] == PLANNED and entry['planned'] == PLANNED and entry['errors'] == []
    assert entry['reclaimed_bytes'] > 0 and entry['predicted_bytes'] > 0
    report = report_entry(engine, entry)
    before, after = report['usage_before'], report['usage_after']
    assert sorted(before) == sorted(after) == ['build_cache', 'containers', 'images', 'volumes']
    assert after['images']['size_bytes'] < before['images']['size_bytes']
    assert after['containers']['total'] == before['containers']['total'] - 1


def test_report_charts_the_last_enforce_run(engine: LocalEngine, inventory: str, tmp_path: Path) -> None:
    """cachewarden.docker.report reads the role's report files: usage before and after the run above."""
    completed = run_playbook('cachewarden.docker.report', [inventory], env={'DOCKER_HOST': engine.url},
                             extra_vars={'fleet_report_dir': str(tmp_path), 'fleet_report_formats': ['json', 'html'],
                                         'fleet_report_enforce_path': str(engine.root / 'report')})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads((tmp_path / 'report.json').read_text(encoding='utf-8'))
    run = report['hosts'][0]['enforce']
    written = report_entry(engine, {})
    assert run['before']['images'] == written['usage_before']['images']['size_bytes']
    assert run['after_bytes'] < run['before_bytes'] and run['removed'] == PLANNED
    assert report['totals']['enforce']['reclaimed_bytes'] == written['reclaimed_bytes']
    assert 'id="chart-before-after"' in (tmp_path / 'report.html').read_text(encoding='utf-8')
    assert not (tmp_path / 'report.md').exists()


def test_second_run_is_unchanged(engine: LocalEngine, inventory: str, role_playbook: str) -> None:
    """Idempotence: the same policy again reports changed=0, in check mode and for real."""
    before = engine.listing()
    for check in (True, False):
        result = play(role_playbook, inventory, role_vars(engine), check=check)
        assert result['rc'] == 0, result['output']
        assert result['recap']['changed'] == 0, result['output']
        entry = summary_entry(result)
        assert entry == {'changed': False, 'check_mode': check, 'errors': [], 'failed': False, 'planned': 0,
                         'predicted_bytes': 0, 'reclaimed_bytes': 0, 'removed': 0, 'kept_by_rule': entry['kept_by_rule'],
                         'summary': 'would remove 0 items, 0 B would be freed' if check else
                         'removed 0 items, 0 B freed (0 B predicted)'}
    assert engine.listing() == before


def test_tags_gather_only_reads(engine: LocalEngine, inventory: str, role_playbook: str) -> None:
    """--tags gather runs the facts call only."""
    engine.client.containers.create(engine.current_image, command=['/bin/busybox', 'true'], name='cwrole-late')
    before = engine.listing()
    completed = run_playbook(role_playbook, [inventory], extra_vars=role_vars(engine), tags='gather')
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert 'TASK [cachewarden.docker.cache_policy : Read the Docker cache facts]' in completed.stdout
    assert 'TASK [cachewarden.docker.cache_policy : Apply the cache policy]' not in completed.stdout
    assert engine.listing() == before
