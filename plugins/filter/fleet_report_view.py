# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report_view filter: fleet report data -> what the Markdown and HTML templates print."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report_view
short_description: Format the fleet report for people (human sizes, table rows, chart geometry)
version_added: 0.1.0
author: cachewarden maintainers
description:
  - Takes what P(cachewarden.docker.fleet_report#filter) returns and formats it for the Markdown and HTML templates of
    C(cachewarden.docker.report) (sizes like C(1.23 GB), in decimal units as the Docker CLI prints them).
  - Charts are given in fractions of the plot width on an axis with round ticks, so a template only scales them.
options:
  _input:
    description: The fleet report.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the Markdown report
  ansible.builtin.template:
    src: report.md.j2
    dest: /tmp/report.md
    mode: "0644"
  vars:
    view: "{{ fleet | cachewarden.docker.fleet_report_view }}"
"""

RETURN = r"""
_value:
  description: The view.
  type: dict
  contains:
    cards:
      description: Fleet totals up front (C(label), C(value), C(note), C(alert)).
      type: list
      elements: dict
    charts:
      description:
        - Charts (C(id), C(title), C(axis) with C(ticks), C(rows) with C(bars) (C(lane), C(start), C(width),
          C(css), C(title)), C(legend), C(x_label), C(y_label)).
        - V(usage-by-host), one chart per type (V(type-images), V(type-containers), V(type-volumes),
          V(type-build-cache)) and V(before-after) when the last enforce run recorded usage before and after.
      type: list
      elements: dict
    rows:
      description: One table row per host, in report order, sizes formatted.
      type: list
      elements: dict
    over_budget:
      description: The rows of hosts over budget, with their C(advice).
      type: list
      elements: dict
    failed:
      description: Hosts without facts (C(name), C(error)).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_view import report_view


def fleet_report_view_filter(report):
    """Jinja entry point."""
    try:
        return report_view(report)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('fleet_report_view: expected what cachewarden.docker.fleet_report returns (%s)'
                                 % exc) from None


class FilterModule:
    """cachewarden.docker.fleet_report_view"""

    def filters(self):
        return {'fleet_report_view': fleet_report_view_filter}
