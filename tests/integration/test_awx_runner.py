# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX jobs of playbooks/awx_configure.yml, run the way AWX runs them (ansible-runner, see awx_runner.py).

gather (fact storage on) -> enforce in check mode -> enforce -> report, against the session fleet over SSH, with
the extra vars the enforce survey sends. The enforce job's artifacts are what the workflow's report node gets.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from awx_runner import Job, run_job, survey_extra_vars
from fleet_helpers import engine_listing, sandbox_cli

from sandbox.fleet import Fleet, docker_client

GATHER = 'playbooks/gather.yml'
ENFORCE = 'playbooks/enforce.yml'
REPORT = 'playbooks/report.yml'
ROLE_CHECK_TASK = 'Check the values that argument specs cannot express'
FACTS_TASK = 'Read the Docker cache facts'
PRUNE_TASK = 'Apply the cache policy'
SUMMARY_FIELDS = {'changed', 'check_mode', 'reclaimed_bytes', 'predicted_bytes', 'removed', 'planned', 'errors', 'failed',
                  'summary', 'kept_by_rule'}
# Survey answers of a containers-only cleanup: stopped containers of any age, nothing else. The optional text
# questions are left empty, as some AWX releases send them: empty strings mean "not set".
CONTAINERS_ONLY = {'cache_policy_images': 'none', 'cache_policy_build_cache': 'none', 'cache_policy_older_than': '0s',
                   'cache_policy_keep_images': '', 'cache_policy_keep_labels': '', 'cache_policy_max_cache_size': '',
                   'cache_policy_build_cache_reserve': ''}
DOWN_HOST = 'h4'
LIMIT = 'h1,h2'


@pytest.fixture(scope='module', name='pdd')
def private_data_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One private data dir for the module's jobs; each job has its own ident, as in AWX."""
    return tmp_path_factory.mktemp('awx-pdd')


@pytest.fixture(scope='module', name='gather')
def gather_fixture(fleet: Fleet, inventory: str, pdd: Path) -> Job:
    """The gather job template: facts into the fact cache."""
    job = run_job(pdd, 'gather', GATHER, inventory, {})
    assert job.status == 'successful', job.stdout()
    assert fleet.hosts
    return job


def _summary(job: Job) -> Dict[str, Dict[str, Any]]:
    artifacts = job.artifacts()
    assert set(artifacts) == {'cache_policy_summary'}, artifacts
    summary = artifacts['cache_policy_summary']
    for host, entry in summary.items():
        assert set(entry) == SUMMARY_FIELDS, (host, entry)
    return summary


def _stopped_container(fleet: Fleet, name: str) -> str:
    """A created, never started container on the host: what the containers-only policy removes."""
    client = docker_client(fleet.host(name))
    try:
        image = next(i for i in client.images.list() if i.tags)
        container = client.containers.create(image.id, command=['/bin/true'], name='cw-awx-%s' % uuid.uuid4().hex[:8])
        return container.id
    finally:
        client.close()


def test_gather_fills_the_fact_cache_per_host(fleet: Fleet, gather: Job) -> None:
    """What AWX saves into fact storage: docker_cache for every host, as its own engine describes itself."""
    cache = gather.fact_cache()
    assert set(cache) == set(fleet.hosts)
    for host in fleet.sorted_hosts():
        docker_cache = cache[host.name]['docker_cache']
        assert docker_cache['engine']['image_store'] == host.store
        assert docker_cache['engine']['version'] == host.engine_version
        assert set(docker_cache['disk_usage']) == {'images', 'containers', 'volumes', 'build_cache'}
        assert docker_cache['images']['total'] >= docker_cache['images']['tagged'] > 0
    # Nothing was changed and nothing published: gather has no artifacts for the next node.
    assert gather.artifacts() == {}
    assert not gather.host_events('runner_on_failed')


def test_enforce_check_then_real_hands_the_fleet_summary_on(fleet: Fleet, inventory: str, pdd: Path, gather: Job) -> None:
    """Check mode plans and changes nothing; the real job removes exactly that plan; both publish the summary.

    Limited (an AWX job template's limit) to one host of each engine kind, to keep the destructive part short."""
    names = sorted(LIMIT.split(','))
    created = {name: _stopped_container(fleet, name) for name in names}
    extra_vars, refused = survey_extra_vars(CONTAINERS_ONLY)
    assert not refused
    before = {name: engine_listing(fleet.host(name)) for name in names}

    check = run_job(pdd, 'enforce-check', ENFORCE, inventory, extra_vars, check=True, limit=LIMIT,
                    facts_from=gather)
    assert check.status == 'successful', check.stdout()
    assert {name: engine_listing(fleet.host(name)) for name in names} == before
    planned = _summary(check)
    assert sorted(planned) == names
    for name in names:
        assert planned[name]['check_mode'] is True and planned[name]['failed'] is False
        assert planned[name]['planned'] >= 1 and planned[name]['removed'] == 0
        assert planned[name]['changed'] is True

    real = run_job(pdd, 'enforce', ENFORCE, inventory, extra_vars, limit=LIMIT, facts_from=check)
    assert real.status == 'successful', real.stdout()
    done = _summary(real)
    assert sorted(done) == names
    for name in names:
        after = engine_listing(fleet.host(name))
        gone = sorted(set(before[name]['containers']) - set(after['containers']))
        assert created[name] in [cid for cid, _state in gone]
        assert done[name]['check_mode'] is False and done[name]['failed'] is False and done[name]['errors'] == []
        assert done[name]['removed'] == len(gone) == planned[name]['planned']
        assert all(state != 'running' for _cid, state in gone)
        assert after['images'] == before[name]['images']
        # The prune refreshed the host's facts; AWX stores them for the report node and host filters.
        facts = real.fact_cache()[name]['docker_cache']
        assert facts['disk_usage']['containers']['total'] == len(after['containers'])
    changed = real.stats()['changed']
    assert sorted(changed) == names

    # The workflow's report node: the enforce job's artifacts as extra vars, its fact cache restored.
    report_dir = pdd / 'report-files'
    report = run_job(pdd, 'report', REPORT, inventory, dict(real.artifacts(), fleet_report_dir=str(report_dir)),
                     facts_from=real)
    assert report.status == 'successful', report.stdout()
    written = json.loads((report_dir / 'report.json').read_text(encoding='utf-8'))
    hosts = {host['name']: host for host in written['hosts']}
    assert sorted(hosts) == sorted(fleet.hosts)
    for name in names:
        assert hosts[name]['enforce']['removed'] == done[name]['removed']
        assert hosts[name]['enforce']['check_mode'] is False
    assert all(hosts[name]['enforce'] is None for name in hosts if name not in names)


def test_survey_value_out_of_range_fails_before_any_host_is_touched(fleet: Fleet, inventory: str, pdd: Path) -> None:
    """AWX refuses 150 % at launch; a run that gets it anyway (extra vars, no survey) stops in the role's check."""
    extra_vars, refused = survey_extra_vars({'cache_policy_high_watermark_percent': 150})
    assert refused == ['cache_policy_high_watermark_percent: 150 is too large (at most 100)']
    names = sorted(fleet.hosts)
    before = {name: engine_listing(fleet.host(name)) for name in names}

    job = run_job(pdd, 'enforce-bad-survey', ENFORCE, inventory, extra_vars)
    assert job.status == 'failed'
    failed = job.host_events('runner_on_failed')
    assert sorted(failed) == names
    for name in names:
        [event] = failed[name]
        assert event['task'] == ROLE_CHECK_TASK
        assert event['res']['msg'] == ("cache_policy_high_watermark_percent='150': expected a percentage between 0 and 100,"
                                       " got '150'")
    started = {e['event_data']['task'] for e in job.events if e['event'] == 'runner_on_start'}
    assert FACTS_TASK not in started and PRUNE_TASK not in started
    assert job.artifacts() == {}
    assert {name: engine_listing(fleet.host(name)) for name in names} == before


def test_host_down_fails_its_own_events_while_the_fleet_completes(fleet: Fleet, inventory: str, pdd: Path,
                                                                  gather: Job) -> None:
    """One engine stopped: that host fails (and says why in the summary), every other host is enforced."""
    extra_vars, refused = survey_extra_vars({})
    assert not refused
    names = sorted(fleet.hosts)
    assert sandbox_cli('fault', 'engine-stop', DOWN_HOST).returncode == 0
    try:
        job = run_job(pdd, 'enforce-host-down', ENFORCE, inventory, extra_vars, check=True, facts_from=gather)
    finally:
        assert sandbox_cli('fault', 'engine-start', DOWN_HOST).returncode == 0
    assert job.status == 'failed'
    failed: Dict[str, List[Dict[str, Any]]] = job.host_events('runner_on_failed')
    assert sorted(failed) == [DOWN_HOST]
    assert [event['task'] for event in failed[DOWN_HOST]] == [PRUNE_TASK, 'Fail the host']
    healthy = [name for name in names if name != DOWN_HOST]
    assert sorted(job.host_events('runner_on_ok', PRUNE_TASK)) == healthy
    stats = job.stats()
    assert sorted(stats['failures']) == [DOWN_HOST]
    assert set(healthy) <= set(stats['ok'])
    summary = _summary(job)
    assert sorted(summary) == names
    assert summary[DOWN_HOST]['failed'] is True and summary[DOWN_HOST]['errors']
    assert 'unix:///var/run/docker.sock' in ' '.join(summary[DOWN_HOST]['errors'])
    for name in healthy:
        assert summary[name]['failed'] is False and summary[name]['errors'] == []
    # The engine is back: the next night's job would reach it again.
    assert engine_listing(fleet.host(DOWN_HOST))['images']
