# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_options: the role's variables refused exactly as the modules refuse them, all in one list."""

from __future__ import annotations

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.policy import PolicyError, validate_policy
from ansible_collections.cachewarden.docker.plugins.plugin_utils.role_options import role_problems

PREFIX = 'cache_policy_'
# The role's defaults (roles/cache_policy/defaults/main.yml) as the role passes them.
ROLE_DEFAULTS = {'containers': True, 'images': 'dangling', 'networks': False, 'volumes': 'none',
                 'build_cache': 'unused', 'older_than': '7d', 'age_basis': 'last_used', 'keep_images': [],
                 'keep_labels': [], 'keep_latest': None, 'protect_base_images': True, 'max_deletions': 500,
                 'state_path': None, 'gather_sizes': True, 'docker_host': None, 'timeout': None}


def _role(**values):
    return {PREFIX + name: value for name, value in dict(ROLE_DEFAULTS, **values).items()}


def test_the_role_defaults_are_a_valid_policy():
    assert role_problems(_role(), PREFIX) == []


def test_null_and_empty_mean_not_set():
    assert role_problems(_role(older_than='', keep_images=None, max_cache_size='', timeout=None), PREFIX) == []


def test_every_bad_option_in_one_list():
    problems = role_problems(_role(keep_latest=-1, max_cache_size='1.5', timeout=0, images='everything',
                                   keep_labels=['=oops'], containers='perhaps'), PREFIX)
    assert [problem.split('=')[0] for problem in problems] == [
        'cache_policy_containers', 'cache_policy_images', 'cache_policy_keep_labels', 'cache_policy_keep_latest',
        'cache_policy_max_cache_size', 'cache_policy_timeout']
    assert "cache_policy_max_cache_size='1.5': a size in bytes must be a whole number" in problems[4]
    assert "'perhaps'" in problems[0] and "'everything'" in problems[1]


@pytest.mark.parametrize('option, value', [
    ('max_cache_size', '1.5'),        # the role's own size pattern accepted this; units.py does not
    ('older_than', '7 days'),
    ('state_path', 'relative/last-used.json'),
    ('build_cache_reserve', '5 GB please'),
    ('high_watermark_percent', '180'),
    ('keep_images', ['nginx:[1']),
])
def test_the_role_refuses_what_the_module_refuses(option, value):
    params = dict(ROLE_DEFAULTS, **{option: value})
    with pytest.raises(PolicyError) as caught:
        validate_policy({name: value for name, value in params.items() if value is not None})
    [problem] = role_problems(_role(**{option: value}), PREFIX)
    assert problem == PREFIX + str(caught.value)


def test_values_from_extra_vars_are_converted_as_the_module_converts_them():
    assert role_problems(_role(keep_latest='2', containers='yes', keep_images='nginx:*,cw/*',
                               high_watermark_percent=85, timeout='30'), PREFIX) == []


def test_environment_fallbacks_of_the_controller_do_not_apply(monkeypatch):
    monkeypatch.setenv('DOCKER_HOST', 'ftp://controller')
    assert role_problems(_role(), PREFIX) == []


def test_variables_of_other_names_are_ignored():
    assert role_problems(dict(_role(), cache_policy_report_path='relative', other_timeout=0), PREFIX) == []


def test_the_role_only_switch_is_a_boolean_like_the_modules_sizes():
    [problem] = role_problems(dict(_role(), cache_policy_gather_sizes='some'), PREFIX)
    assert problem.startswith("cache_policy_gather_sizes='some': ")
    assert role_problems(dict(_role(), cache_policy_gather_sizes='no'), PREFIX) == []
    assert role_problems(dict(_role(), cache_policy_gather_sizes=''), PREFIX) == []
