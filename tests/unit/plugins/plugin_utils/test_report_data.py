# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report data: totals, order, budgets, before/after, failed hosts, empty fleet."""

from __future__ import annotations

import json

import pytest
from report_inputs import GB, MB, facts, run, usage

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_data import (
    ReportError, fleet_report, readable)


def _fleet(**hosts):
    return {name: {'facts': value} for name, value in hosts.items()}


def test_totals_add_up_per_type_and_overall():
    report = fleet_report(_fleet(a=facts(images=2 * GB, images_reclaimable=GB, containers=10 * MB, build_cache=GB,
                                         build_cache_reclaimable=GB),
                                 b=facts(images=GB, volumes=5 * MB)))
    totals = report['totals']
    assert totals['hosts'] == 2 and totals['hosts_ok'] == 2 and totals['hosts_failed'] == 0
    assert totals['by_type']['images'] == {'size_bytes': 3 * GB, 'reclaimable_bytes': GB}
    assert totals['by_type']['containers'] == {'size_bytes': 10 * MB, 'reclaimable_bytes': 10 * MB}
    assert totals['by_type']['volumes'] == {'size_bytes': 5 * MB, 'reclaimable_bytes': 0}
    assert totals['size_bytes'] == 3 * GB + 10 * MB + 5 * MB + GB
    assert totals['reclaimable_bytes'] == 2 * GB + 10 * MB
    assert totals['cache_bytes'] == 4 * GB
    assert totals['enforce'] is None


def test_hosts_are_sorted_largest_first_then_by_name_and_failed_last():
    report = fleet_report({'small': {'facts': facts(images=MB)}, 'broken': {'facts': None, 'error': 'unreachable'},
                           'big': {'facts': facts(images=GB)}, 'also-big': {'facts': facts(images=GB)}})
    assert [host['name'] for host in report['hosts']] == ['also-big', 'big', 'small', 'broken']


def test_a_host_with_failed_facts_is_listed_with_its_error_and_left_out_of_the_totals():
    report = fleet_report({'ok': {'facts': facts(images=GB)},
                           'down': {'facts': facts(images=50 * GB), 'error': 'Failed to connect to the host via ssh'}})
    down = report['hosts'][-1]
    assert down['name'] == 'down' and down['status'] == 'failed'
    assert down['error'] == 'Failed to connect to the host via ssh'
    assert down['size_bytes'] == 0 and down['budget']['over'] is False
    assert report['totals']['hosts_failed'] == 1 and report['totals']['size_bytes'] == GB


def test_a_host_without_facts_and_without_error_says_so():
    host = fleet_report({'new': {}})['hosts'][0]
    assert host['status'] == 'failed' and host['error'] == 'no docker_cache facts for this host'


def test_an_empty_fleet_gives_zero_totals_and_no_hosts():
    report = fleet_report({})
    assert report['hosts'] == []
    assert report['totals']['hosts'] == 0 and report['totals']['size_bytes'] == 0
    assert report['totals']['by_type']['build_cache'] == {'size_bytes': 0, 'reclaimable_bytes': 0}


def test_budget_is_the_smaller_of_the_report_budget_and_the_policy_max_cache_size():
    report = fleet_report({'a': {'facts': facts(images=3 * GB, build_cache=GB), 'budget': '10GB',
                                 'max_cache_size': '3.5GB'},
                           'b': {'facts': facts(images=3 * GB), 'budget': '10GB'},
                           'c': {'facts': facts(images=3 * GB)}})
    a, b, c = report['hosts']
    assert a['budget']['limit_bytes'] == 3500 * MB and a['budget']['limit_source'] == 'cache_policy_max_cache_size'
    assert a['budget']['over'] and a['budget']['over_size'] and a['budget']['excess_bytes'] == 500 * MB
    assert b['budget']['limit_bytes'] == 10 * GB and not b['budget']['over'] and b['budget']['excess_bytes'] == 0
    assert c['budget']['limit_bytes'] is None and not c['budget']['over']
    assert report['totals']['hosts_over_budget'] == 1


def test_budget_counts_images_and_build_cache_only():
    host = fleet_report({'a': {'facts': facts(images=GB, containers=5 * GB, volumes=5 * GB), 'budget': '1GB'}})['hosts'][0]
    assert host['cache_bytes'] == GB and not host['budget']['over']


def test_watermark_puts_a_host_over_budget_when_its_disk_is_fuller():
    report = fleet_report({'full': {'facts': facts(images=GB, used_percent=91.5), 'high_watermark_percent': '85%'},
                           'fine': {'facts': facts(images=GB, used_percent=60.0), 'high_watermark_percent': 85},
                           'remote': {'facts': facts(images=GB, used_percent=None), 'high_watermark_percent': 85}})
    over = {host['name']: host['budget'] for host in report['hosts']}
    assert over['full']['over_watermark'] and over['full']['over'] and not over['full']['over_size']
    assert not over['fine']['over'] and not over['remote']['over']
    full = next(host for host in report['hosts'] if host['name'] == 'full')
    assert any('91.5% full' in hint for hint in full['advice'])


def test_advice_says_when_reclaimable_bytes_cover_the_excess_and_names_the_biggest_type():
    host = fleet_report({'a': {'facts': facts(images=2 * GB, images_reclaimable=200 * MB, build_cache=3 * GB,
                                              build_cache_reclaimable=3 * GB), 'budget': '4GB'}})['hosts'][0]
    assert host['budget']['excess_bytes'] == GB
    assert host['advice'][0].startswith('Reclaimable images and build cache (3.2 GB) cover the 1 GB over budget')
    assert 'build cache (3 GB)' in host['advice'][-1] and 'cache_policy_build_cache' in host['advice'][-1]


def test_advice_says_when_in_use_images_hold_the_excess():
    host = fleet_report({'a': {'facts': facts(images=5 * GB, images_reclaimable=100 * MB), 'budget': '2GB'}})['hosts'][0]
    assert host['advice'][0].startswith('Only 100 MB of the 3 GB over budget is reclaimable')


def test_hosts_within_budget_get_no_advice():
    assert fleet_report({'a': {'facts': facts(images=GB, images_reclaimable=GB), 'budget': '2GB'}})['hosts'][0]['advice'] == []


def test_before_and_after_come_from_the_last_enforce_run():
    report = fleet_report(_fleet(a=facts(images=GB), b=facts(images=GB), c=facts(images=GB)),
                          enforce={'a': run(reclaimed=2 * GB, removed=4, before=usage(2 * GB, GB), after=usage(GB, 0)),
                                   'b': run(check_mode=True, reclaimed=0),
                                   'gone': run(reclaimed=GB, removed=1)})
    hosts = {host['name']: host for host in report['hosts']}
    a = hosts['a']['enforce']
    assert a['before'] == {'images': 2 * GB, 'containers': 0, 'volumes': 0, 'build_cache': GB}
    assert a['before_bytes'] == 3 * GB and a['after_bytes'] == GB and a['removed'] == 4
    assert hosts['b']['enforce']['check_mode'] and hosts['b']['enforce']['before'] is None
    assert hosts['c']['enforce'] is None
    run_totals = report['totals']['enforce']
    # Only hosts of the report count; the run of a host no longer in it is left out.
    assert run_totals['hosts'] == 2 and run_totals['removed'] == 4 and run_totals['reclaimed_bytes'] == 2 * GB
    assert run_totals['before_bytes'] == 3 * GB and run_totals['after_bytes'] == GB


def test_before_and_after_compare_only_the_types_measured_on_both_sides():
    cache_only = {kind: {'size_bytes': GB} for kind in ('images', 'build_cache')}
    report = fleet_report(_fleet(a=facts(images=GB)),
                          enforce={'a': run(before=usage(2 * GB, GB), after=cache_only)})
    a = report['hosts'][0]['enforce']
    assert a['before'] == {'images': 2 * GB, 'containers': None, 'volumes': None, 'build_cache': GB}
    assert a['after'] == {'images': GB, 'containers': None, 'volumes': None, 'build_cache': GB}
    assert a['before_bytes'] == 3 * GB and a['after_bytes'] == 2 * GB


def test_a_check_mode_run_has_no_after():
    entry = fleet_report(_fleet(a=facts()), enforce={'a': run(check_mode=True, before=usage(GB, 0))})['hosts'][0]
    assert entry['enforce']['before'] is None and entry['enforce']['after_bytes'] is None


def test_a_bad_budget_names_the_option_the_host_and_the_value():
    with pytest.raises(ReportError, match=r"fleet_report_budget='lots' \(host a\)"):
        fleet_report({'a': {'facts': facts(), 'budget': 'lots'}})
    with pytest.raises(ReportError, match=r"high_watermark_percent='120' \(host a\)"):
        fleet_report({'a': {'facts': facts(), 'high_watermark_percent': '120'}})


def test_the_report_is_json_with_stable_keys():
    report = fleet_report(_fleet(a=facts(images=GB)), enforce={'a': run(before=usage(1, 1), after=usage(1, 0))},
                          generated_at='2026-11-29T03:00:00Z')
    assert json.loads(json.dumps(report)) == report
    assert sorted(report) == ['generated_at', 'hosts', 'schema_version', 'title', 'totals', 'types']
    assert sorted(report['hosts'][0]) == ['advice', 'budget', 'cache_bytes', 'collected_at', 'enforce',
                                          'engine_version', 'error', 'filesystem', 'image_store', 'name',
                                          'reclaimable_bytes', 'size_bytes', 'status', 'usage']
    assert report['types'] == ['images', 'containers', 'volumes', 'build_cache']


@pytest.mark.parametrize('size, text', [
    (0, '0 B'), (999, '999 B'), (1000, '1 kB'), (1234567, '1.23 MB'), (999_600, '1 MB'),
    (1_200_000_000, '1.2 GB'), (72_700_000, '72.7 MB'), (5 * 1000 ** 4, '5 TB'), (None, '\u2013'),
])
def test_human_sizes_have_three_digits_and_a_space(size, text):
    assert readable(size) == text


def test_after_a_real_run_the_advice_names_the_rules_that_keep_the_bytes():
    last = dict(run(reclaimed=GB, removed=3), kept_by_rule={
        'older_than': {'count': 4, 'bytes': 2 * GB}, 'keep_images: nginx:*': {'count': 1, 'bytes': 300 * MB},
        'shared with a kept image': {'count': 2, 'bytes': 0}})
    host = fleet_report({'a': {'facts': facts(images=5 * GB, images_reclaimable=3 * GB), 'budget': '2GB'}},
                        enforce={'a': last})['hosts'][0]
    assert host['advice'][0] == ('The last enforce removed all the policy allows; its own rules keep the rest: '
                                 'older_than keeps 2 GB (4 objects), keep_images: nginx:* keeps 300 MB (1 object). '
                                 'Running enforce again would remove nothing more: relax those rules or raise the budget. '
                                 'They hold 2.3 GB of the 3 GB over budget; the rest is in what the policy does not '
                                 'target.')
    checked = fleet_report({'a': {'facts': facts(images=5 * GB, images_reclaimable=3 * GB), 'budget': '2GB'}},
                           enforce={'a': dict(last, check_mode=True)})['hosts'][0]
    assert checked['advice'][0].startswith('Reclaimable images and build cache'), 'a check run removed nothing yet'
