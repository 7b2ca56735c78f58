# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy_problems filter: role variables -> what the modules would refuse, checked on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: policy_problems
short_description: Check cache policy and connection variables as the cachewarden.docker modules would
version_added: 0.1.0
author: cachewarden maintainers
description:
  - Checks the variables named O(prefix) plus an option of M(cachewarden.docker.docker_cache_prune) (policy and
    engine connection options) with the modules' own types, choices and validation, so that a bad value fails
    before any module runs.
  - Null and empty values count as not set. Options that need the managed host (certificate files, the engine)
    are left to the modules.
options:
  _input:
    description: Variable name to value, for example the role's variables.
    type: dict
    required: true
  prefix:
    description: The prefix of the variable names, like V(cache_policy_).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Refuse a bad policy with one message naming every bad variable
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ {'cache_policy_keep_latest': -1} | cachewarden.docker.policy_problems(prefix='cache_policy_') }}"
"""

RETURN = r"""
_value:
  description: One message per bad variable, naming it and its value; empty when every value is good.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cachewarden.docker.plugins.plugin_utils.role_options import role_problems


def policy_problems_filter(variables, prefix=''):
    """Jinja entry point."""
    if not isinstance(variables, dict):
        raise AnsibleFilterError('policy_problems: expected a dict of variables, got %r' % (variables,))
    return role_problems(variables, prefix)


class FilterModule:
    """cachewarden.docker.policy_problems"""

    def filters(self):
        return {'policy_problems': policy_problems_filter}
