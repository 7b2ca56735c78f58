# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter plugins: names Jinja sees, and input errors as filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cachewarden.docker.plugins.filter import fleet_report, fleet_report_view, policy_problems


def test_each_file_exposes_its_filter_under_the_file_name():
    assert list(fleet_report.FilterModule().filters()) == ['fleet_report']
    assert list(fleet_report_view.FilterModule().filters()) == ['fleet_report_view']
    assert list(policy_problems.FilterModule().filters()) == ['policy_problems']


def test_policy_problems_of_something_else_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="policy_problems: expected a dict of variables, got 'x'"):
        policy_problems.policy_problems_filter('x')


def test_a_bad_budget_is_a_filter_error_naming_the_option():
    with pytest.raises(AnsibleFilterError, match=r"fleet_report: fleet_report_budget='-3GB' \(host h1\)"):
        fleet_report.fleet_report_filter({'h1': {'facts': None, 'budget': '-3GB'}})


def test_the_view_of_something_else_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match='expected what cachewarden.docker.fleet_report returns'):
        fleet_report_view.fleet_report_view_filter({'hosts': []})


def test_filters_chain_on_an_empty_fleet():
    report = fleet_report.fleet_report_filter({}, generated_at='2026-11-29T03:00:00Z', title='Nightly')
    view = fleet_report_view.fleet_report_view_filter(report)
    assert view['title'] == 'Nightly' and view['generated_at'] == '2026-11-29T03:00:00Z' and view['rows'] == []
