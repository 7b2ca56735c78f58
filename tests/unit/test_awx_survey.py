# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX survey of the enforce templates (playbooks/vars/awx_survey.yml) cannot drift from the role.

Every question must set a cache_policy_* option of roles/cache_policy/meta/argument_specs.yml, with a type,
limits and choices that follow from the spec of the docker_cache_prune option the role variable sets (the
role's own spec declares most options raw, so that null and '' get through on every ansible-core) and the
role's default (the rules are in the survey file's header). What AWX sends for the defaults must pass both
specs and mean the role's defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cachewarden.docker.plugins.module_utils.policy import POLICY_ARGUMENT_SPEC

from sandbox import paths

REPO = paths.repo_root()
SURVEY = REPO / 'playbooks' / 'vars' / 'awx_survey.yml'
ROLE_SPEC = REPO / 'roles' / 'cache_policy' / 'meta' / 'argument_specs.yml'
# The policy knobs the survey must offer: every option that says what goes or stays, not the engine
# connection, the state file or the controller-side report.
POLICY_KNOBS = {'cache_policy_' + name for name in POLICY_ARGUMENT_SPEC if name != 'state_path'}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding='utf-8'))


SPEC: Dict[str, Dict[str, Any]] = _load(ROLE_SPEC)['argument_specs']['main']['options']
QUESTIONS: Dict[str, Dict[str, Any]] = {q['variable']: q for q in _load(SURVEY)['cachewarden_awx_enforce_survey']['spec']}


def _module_option(name: str) -> Dict[str, Any]:
    """The docker_cache_prune option that the role variable ``name`` sets."""
    return POLICY_ARGUMENT_SPEC[name[len('cache_policy_'):]]


def _expected_question(name: str, option: Dict[str, Any]) -> Dict[str, Any]:
    """The survey question an option of the role's argument spec calls for (its type and choices: the module's)."""
    default = option.get('default')
    option = dict(option, type=_module_option(name)['type'], choices=_module_option(name).get('choices'))
    if option['type'] == 'bool':
        expected = {'type': 'multiplechoice', 'choices': ['true', 'false'], 'default': str(default).lower()}
    elif option.get('choices'):
        expected = {'type': 'multiplechoice', 'choices': option['choices'], 'default': default}
    elif name.endswith('_percent'):
        expected = {'type': 'integer', 'min': 0, 'max': 100}
    elif option['type'] == 'int':
        expected = {'type': 'integer', 'min': 0, 'default': default}
    elif option['type'] in ('str', 'list'):
        expected = {'type': 'text', 'default': default if option['type'] == 'str' else None}
    else:
        raise AssertionError('%s: no survey type for %s' % (name, option['type']))
    # Null (or an empty list) means "not set": no default in the survey, so AWX sends nothing.
    if expected.get('default') in (None, []):
        expected.pop('default', None)
        expected['required'] = False
    else:
        expected['required'] = True
    return expected


def test_survey_offers_every_policy_knob() -> None:
    assert set(QUESTIONS) == POLICY_KNOBS
    assert POLICY_KNOBS <= set(SPEC)


@pytest.mark.parametrize('name', sorted(POLICY_KNOBS))
def test_question_follows_the_argument_spec(name: str) -> None:
    question = QUESTIONS[name]
    expected = _expected_question(name, SPEC[name])
    actual = {key: question[key] for key in ('type', 'choices', 'default', 'min', 'max', 'required') if key in question}
    if actual['type'] == 'text':
        # Text limits are lengths, not values: only check that a default fits in them.
        actual.pop('min', None)
        actual.pop('max', None)
    assert actual == expected
    assert question['question_name']


def test_text_defaults_fit_their_length_limits() -> None:
    for question in QUESTIONS.values():
        if question['type'] == 'text' and 'default' in question:
            assert question['min'] <= len(question['default']) <= question['max'], question['variable']


def test_survey_defaults_pass_the_role_argument_spec() -> None:
    """What AWX sends when nobody changes an answer (defaults only) is valid role input and means the defaults."""
    sent = {name: q['default'] for name, q in QUESTIONS.items() if 'default' in q}
    # The role's spec lets them through; the module's converts them to the role's defaults.
    module_spec = {name: dict(_module_option(name), default=SPEC[name].get('default')) for name in sent}
    for spec in (SPEC, module_spec):
        validator = ArgumentSpecValidator({name: {key: value for key, value in option.items()
                                                  if key in ('type', 'choices', 'elements', 'default')}
                                           for name, option in spec.items()})
        result = validator.validate(sent)
        assert not result.error_messages
    for name in sent:
        assert result.validated_parameters[name] == SPEC[name].get('default'), name
