# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""policy.py: good options become a typed Policy; every bad one is refused, naming option and value."""

from __future__ import annotations

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.policy import (
    DEFAULT_STATE_PATH, LabelRule, Policy, PolicyError, policy_summary, validate_policy)


def test_defaults_remove_nothing():
    policy = validate_policy({})
    assert policy == Policy()
    assert (policy.containers, policy.images, policy.networks, policy.volumes, policy.build_cache) == \
        (False, 'none', False, 'none', 'none')
    assert policy.protect_base_images is True
    assert policy.state_path == DEFAULT_STATE_PATH
    assert not policy.budgeted
    assert not policy.sizes_needed


@pytest.mark.parametrize('options, needed', [
    ({'images': 'unused', 'build_cache': 'all', 'networks': True}, False),
    ({'containers': True}, True),
    ({'volumes': 'anonymous'}, True),
    ({'volumes': 'all'}, True),
])
def test_sizes_are_needed_when_containers_or_volumes_are_targets(options, needed):
    assert validate_policy(options).sizes_needed is needed


@pytest.mark.parametrize('value, expected', [
    ('20GB', 20 * 1000 ** 3),
    ('15GiB', 15 * 1024 ** 3),
    ('512MB', 512 * 1000 ** 2),
    ('512m', 512 * 1000 ** 2),
    ('1.5GB', 1500 * 1000 ** 2),
    ('2TiB', 2 * 1024 ** 4),
    ('1000', 1000),
    (4096, 4096),
])
def test_sizes(value, expected):
    policy = validate_policy({'images': 'unused', 'max_cache_size': value})
    assert policy.max_cache_size == expected
    assert policy.budgeted
    reserve = validate_policy({'build_cache': 'all', 'build_cache_reserve': value})
    assert reserve.build_cache_reserve == expected


@pytest.mark.parametrize('value, expected', [
    ('90m', 90 * 60),
    ('36h', 36 * 3600),
    ('7d', 7 * 86400),
    ('2w', 14 * 86400),
    ('1d12h', 86400 + 12 * 3600),
    ('45s', 45),
    ('600', 600),
])
def test_durations(value, expected):
    assert validate_policy({'older_than': value}).older_than == expected


@pytest.mark.parametrize('high, low, expected', [
    ('85', None, (85.0, 85.0)),
    ('85%', None, (85.0, 85.0)),
    ('90%', '70%', (90.0, 70.0)),
    ('90', '90', (90.0, 90.0)),
    ('99.5', '0', (99.5, 0.0)),
])
def test_watermarks(high, low, expected):
    policy = validate_policy({'images': 'unused', 'high_watermark_percent': high, 'low_watermark_percent': low})
    assert (policy.high_watermark_percent, policy.low_watermark_percent) == expected
    assert policy.budgeted


def test_keep_rules_and_targets():
    policy = validate_policy({
        'containers': True, 'images': 'unused', 'networks': True, 'volumes': 'anonymous', 'build_cache': 'all',
        'keep_images': ['cw/app:*', 'registry.example.com/base/*', 'nginx:1.2[0-9]', 'redis:?'],
        'keep_labels': ['keep', 'tier=prod', 'com.example/owner=team-a', 'empty='],
        'keep_latest': 3, 'max_deletions': 0, 'protect_base_images': False, 'age_basis': 'created',
    })
    assert policy.keep_images == ('cw/app:*', 'registry.example.com/base/*', 'nginx:1.2[0-9]', 'redis:?')
    assert policy.keep_labels == (LabelRule('keep'), LabelRule('tier', 'prod'),
                                  LabelRule('com.example/owner', 'team-a'), LabelRule('empty', ''))
    assert policy.keep_latest == 3
    assert policy.max_deletions == 0
    assert policy.protect_base_images is False
    assert policy.age_basis == 'created'
    assert policy.keeps_labels({'keep': ''})
    assert policy.keeps_labels({'tier': 'prod'})
    assert not policy.keeps_labels({'tier': 'dev'})
    assert policy.keeps_labels({'empty': ''})
    assert not policy.keeps_labels({'empty': 'x'})
    summary = policy_summary(policy)
    assert summary['keep_labels'] == ['keep', 'tier=prod', 'com.example/owner=team-a', 'empty=']
    assert summary['keep_images'] == list(policy.keep_images)


def test_empty_strings_mean_unset():
    policy = validate_policy({'older_than': '', 'max_cache_size': '', 'high_watermark_percent': ''})
    assert policy.older_than is None and policy.max_cache_size is None and policy.high_watermark_percent is None


BAD = [
    # sizes
    ('max_cache_size', '20XB', {'images': 'unused'}),
    ('max_cache_size', 'GB', {'images': 'unused'}),
    ('max_cache_size', '-5GB', {'images': 'unused'}),
    ('max_cache_size', '1.5', {'images': 'unused'}),
    ('max_cache_size', '5iB', {'images': 'unused'}),
    ('max_cache_size', '1.2.3GB', {'images': 'unused'}),
    ('max_cache_size', -1, {'images': 'unused'}),
    ('max_cache_size', True, {'images': 'unused'}),
    ('build_cache_reserve', '10 parsecs', {'build_cache': 'all'}),
    ('build_cache_reserve', 'lots', {'build_cache': 'unused'}),
    # durations
    ('older_than', '7x', {}),
    ('older_than', '7 days', {}),
    ('older_than', 'd7', {}),
    ('older_than', '-1d', {}),
    ('older_than', '1.5h', {}),
    ('older_than', 'week', {}),
    ('older_than', -60, {}),
    # percentages
    ('high_watermark_percent', '101', {'images': 'unused'}),
    ('high_watermark_percent', '-1', {'images': 'unused'}),
    ('high_watermark_percent', 'ninety', {'images': 'unused'}),
    ('high_watermark_percent', 'nan', {'images': 'unused'}),
    ('low_watermark_percent', '150%', {'images': 'unused', 'high_watermark_percent': '90'}),
    ('low_watermark_percent', 'half', {'images': 'unused', 'high_watermark_percent': '90'}),
    # globs
    ('keep_images', 'nginx latest', {}),
    ('keep_images', 'ngin$x:*', {}),
    ('keep_images', 'cw/app:{1,2}', {}),
    ('keep_images', 'nginx:[0-9', {}),
    ('keep_images', 'nginx:1]', {}),
    ('keep_images', 'a[[b]', {}),
    ('keep_images', 'nginx:]1[', {}),  # equal counts, wrong order: still unbalanced
    ('keep_images', '', {}),
    ('keep_images', '   ', {}),
    # label rules
    ('keep_labels', '', {}),
    ('keep_labels', '=prod', {}),
    ('keep_labels', 'bad key=1', {}),
    ('keep_labels', '-leading', {}),
    ('keep_labels', 'key!=x', {}),
    # counts
    ('keep_latest', -1, {}),
    ('max_deletions', -3, {}),
    # choices
    ('images', 'all', {}),
    ('volumes', 'named', {}),
    ('build_cache', 'some', {}),
    ('age_basis', 'modified', {}),
    # the last-used file
    ('state_path', 'last-used.json', {}),
    ('state_path', '~user/last-used.json', {}),
]


@pytest.mark.parametrize('option, value, context', BAD, ids=['%s=%r' % (o, v) for o, v, _c in BAD])
def test_bad_values_name_option_and_value(option, value, context):
    params = dict(context)
    params[option] = [value] if option in ('keep_images', 'keep_labels') else value
    with pytest.raises(PolicyError) as caught:
        validate_policy(params)
    message = str(caught.value)
    assert option in message
    assert str(value) in message


def test_bad_entry_among_good_ones_is_named():
    with pytest.raises(PolicyError) as caught:
        validate_policy({'keep_images': ['nginx:*', 'cw/app:[1-'], 'keep_labels': ['keep']})
    assert 'keep_images' in str(caught.value) and 'cw/app:[1-' in str(caught.value)


def test_low_watermark_above_high():
    with pytest.raises(PolicyError) as caught:
        validate_policy({'images': 'unused', 'high_watermark_percent': '80', 'low_watermark_percent': '85'})
    message = str(caught.value)
    for fragment in ('low_watermark_percent', '85', 'high_watermark_percent', '80'):
        assert fragment in message


def test_low_watermark_without_high():
    with pytest.raises(PolicyError) as caught:
        validate_policy({'images': 'unused', 'low_watermark_percent': '70'})
    message = str(caught.value)
    assert 'low_watermark_percent' in message and '70' in message and 'high_watermark_percent' in message


@pytest.mark.parametrize('budget', [{'max_cache_size': '20GB'}, {'high_watermark_percent': '85'}])
def test_budget_needs_something_to_remove(budget):
    option = next(iter(budget))
    with pytest.raises(PolicyError) as caught:
        validate_policy(dict(budget, images='none', build_cache='none'))
    message = str(caught.value)
    assert option in message
    assert "images='none'" in message and "build_cache='none'" in message
    # Either target alone is enough.
    assert validate_policy(dict(budget, images='unused')).budgeted
    assert validate_policy(dict(budget, build_cache='unused')).budgeted


def test_build_cache_reserve_needs_build_cache():
    with pytest.raises(PolicyError) as caught:
        validate_policy({'build_cache_reserve': '5GB', 'images': 'unused'})
    message = str(caught.value)
    assert 'build_cache_reserve' in message and '5GB' in message and 'build_cache' in message


def test_policy_error_is_a_value_error():
    assert issubclass(PolicyError, ValueError)


def test_every_bad_option_is_named_in_one_message():
    with pytest.raises(PolicyError) as caught:
        validate_policy({'keep_latest': -1, 'older_than': '7 days', 'keep_images': ['nginx:[1', 'ok:*', 'x$'],
                         'state_path': 'relative'})
    problems = str(caught.value).split('; ')
    assert [problem.split('=')[0] for problem in problems] == [
        'older_than', 'keep_images', 'keep_images', 'keep_latest', 'state_path']
    assert 'nginx:[1' in problems[1] and 'x$' in problems[2]
