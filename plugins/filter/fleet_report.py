# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report filter: facts of the hosts + last enforce run -> the fleet report data."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report
short_description: Shape Docker cache facts of a fleet into the fleet report
version_added: 0.1.0
author: cachewarden maintainers
description:
  - Turns the C(docker_cache) facts of several hosts (see M(cachewarden.docker.docker_cache_facts)), their budgets and
    their last run of the P(cachewarden.docker.cache_policy#role) role into one report with stable keys, the JSON
    that C(cachewarden.docker.report) writes.
  - Hosts are sorted by usage, largest first; hosts without facts come last with RV(_value.hosts[].status=failed).
  - The budget of a host is the smaller of C(budget) and C(max_cache_size); it is compared with the host's cache
    (images and build cache, as M(cachewarden.docker.docker_cache_prune) counts it). A host is also over budget when
    its Docker filesystem is fuller than C(high_watermark_percent).
options:
  _input:
    description:
      - Host name to a dictionary with C(facts) (the host's C(ansible_facts.docker_cache), or null), C(error) (why
        there are no facts, or null), and optional C(budget), C(max_cache_size) (sizes like V(20GB)) and
        C(high_watermark_percent).
    type: dict
    required: true
  enforce:
    description:
      - Host name to the host's entry of the last enforce run, as the role writes it to C(cache_policy_report_path)
        or publishes it in C(cache_policy_summary).
    type: dict
  generated_at:
    description: When the report was made (an ISO 8601 string), copied into the report.
    type: str
  title:
    description: Title of the report.
    type: str
    default: Docker cache report
"""

EXAMPLES = r"""
- name: Build the report data of the play's hosts
  ansible.builtin.set_fact:
    fleet: >-
      {{ {'h1': {'facts': hostvars['h1'].ansible_facts.docker_cache, 'budget': '20GB'}}
         | cachewarden.docker.fleet_report(generated_at=now(utc=true).isoformat()) }}
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    schema_version:
      description: Version of this layout; it changes only when a key changes meaning or goes away.
      type: int
    title:
      description: The title.
      type: str
    generated_at:
      description: The O(generated_at) option.
      type: str
    types:
      description: The usage types, in display order (V(images), V(containers), V(volumes), V(build_cache)).
      type: list
      elements: str
    totals:
      description:
        - Fleet totals over hosts with facts (C(hosts), C(hosts_ok), C(hosts_failed), C(hosts_over_budget),
          C(size_bytes), C(reclaimable_bytes), C(cache_bytes), C(by_type)), and C(enforce) (sums of the last run,
          null without one).
      type: dict
    hosts:
      description:
        - One entry per host, largest usage first.
        - Each has C(name), C(status) (V(ok) or V(failed)), C(error), C(collected_at), C(engine_version),
          C(image_store), C(filesystem), C(usage) (per type C(total), C(active), C(size_bytes),
          C(reclaimable_bytes)), C(size_bytes), C(reclaimable_bytes), C(cache_bytes), C(budget) (C(limit_bytes),
          C(limit_source), C(high_watermark_percent), C(over_size), C(over_watermark), C(over), C(excess_bytes)),
          C(advice) (what to do when over budget) and C(enforce) (the last run, with usage C(before) and C(after)
          per type when it recorded them, or null).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_data import ReportError, fleet_report


def fleet_report_filter(hosts, enforce=None, generated_at=None, title='Docker cache report'):
    """Jinja entry point; input errors become filter errors naming the option and the value."""
    try:
        return fleet_report(hosts, enforce=enforce, generated_at=generated_at, title=title)
    except ReportError as exc:
        raise AnsibleFilterError('fleet_report: %s' % exc) from None


class FilterModule:
    """cachewarden.docker.fleet_report"""

    def filters(self):
        return {'fleet_report': fleet_report_filter}
