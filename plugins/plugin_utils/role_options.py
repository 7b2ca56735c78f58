# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cache_policy role's variables checked on the controller with the modules' own specs and validation.

Types and choices as AnsibleModule converts them, then module_utils.policy and module_utils.connection, so the
role refuses exactly what the modules would refuse, in one message, before any module runs.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import (
    ENGINE_ARGUMENT_SPEC, connection_problems)
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import (
    POLICY_ARGUMENT_SPEC, policy_problems)


def _converted(spec: Mapping[str, Dict[str, Any]], variables: Mapping[str, Any], prefix: str,
               problems: List[str]) -> Dict[str, Any]:
    """The options set in ``variables`` (null or '' is not set), converted to their types; a value that does not
    convert is recorded and left out. Fallbacks to environment variables are dropped: they belong to the host."""
    params = {}
    for name, option in spec.items():
        value = variables.get(prefix + name)
        if value is None or value == '':
            continue
        single = {key: item for key, item in option.items() if key not in ('fallback', 'default', 'aliases')}
        result = ArgumentSpecValidator({name: single}).validate({name: value})
        if result.error_messages:
            problems.extend('%s%s=%r: %s' % (prefix, name, value, message) for message in result.error_messages)
        else:
            params[name] = result.validated_parameters[name]
    return params


# The role's own variables that reach a module under another name: gather_sizes is the modules' ``sizes``.
ROLE_ONLY_SPEC: Dict[str, Dict[str, Any]] = {'gather_sizes': dict(type='bool')}


def role_problems(variables: Mapping[str, Any], prefix: str) -> List[str]:
    """Every bad policy or connection option among ``variables`` (named ``prefix`` + option), one message each."""
    problems: List[str] = []
    _converted(ROLE_ONLY_SPEC, variables, prefix, problems)
    policy = _converted(POLICY_ARGUMENT_SPEC, variables, prefix, problems)
    connection = _converted(ENGINE_ARGUMENT_SPEC, variables, prefix, problems)
    return problems + policy_problems(policy, prefix) + connection_problems(connection, prefix)
