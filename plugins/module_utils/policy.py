# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prune policy: its option spec and its validation into plain, typed values.

Validation runs before the engine is touched, so bad input never gets near a delete.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.units import (
    UnitError, parse_duration, parse_percent, parse_size)

IMAGE_TARGETS = ('none', 'dangling', 'unused')
VOLUME_TARGETS = ('none', 'anonymous', 'all')
BUILD_CACHE_TARGETS = ('none', 'unused', 'all')
AGE_BASES = ('last_used', 'created')
DEFAULT_STATE_PATH = '/var/lib/cachewarden/last-used.json'

POLICY_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    'containers': dict(type='bool', default=False),
    'images': dict(type='str', default='none', choices=list(IMAGE_TARGETS)),
    'networks': dict(type='bool', default=False),
    'volumes': dict(type='str', default='none', choices=list(VOLUME_TARGETS)),
    'build_cache': dict(type='str', default='none', choices=list(BUILD_CACHE_TARGETS)),
    'older_than': dict(type='str'),
    'age_basis': dict(type='str', default='last_used', choices=list(AGE_BASES)),
    'keep_images': dict(type='list', elements='str', default=[]),
    'keep_labels': dict(type='list', elements='str', default=[]),
    'keep_latest': dict(type='int'),
    'protect_base_images': dict(type='bool', default=True),
    'max_cache_size': dict(type='str'),
    'high_watermark_percent': dict(type='str'),
    'low_watermark_percent': dict(type='str'),
    'build_cache_reserve': dict(type='str'),
    'max_deletions': dict(type='int'),
    'state_path': dict(type='path', default=DEFAULT_STATE_PATH),
}

_LABEL_KEY = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._/-]*$')
_GLOB_CHARS = re.compile(r'^[A-Za-z0-9._/:@*?\[\]!-]+$')


class PolicyError(ValueError):
    """An option value that makes no policy; the message names the option and the value."""


@dataclass(frozen=True)
class LabelRule:
    """``key`` (any value) or ``key=value``."""

    key: str
    value: Optional[str] = None

    def matches(self, labels: Dict[str, str]) -> bool:
        """True when the labels carry this key (with this value, if one is given)."""
        if self.key not in labels:
            return False
        return self.value is None or labels[self.key] == self.value


@dataclass(frozen=True)
class Policy:
    """A validated policy: what may go, what must stay, and how much to free."""

    containers: bool = False
    images: str = 'none'
    networks: bool = False
    volumes: str = 'none'
    build_cache: str = 'none'
    older_than: Optional[int] = None
    age_basis: str = 'last_used'
    keep_images: Tuple[str, ...] = ()
    keep_labels: Tuple[LabelRule, ...] = ()
    keep_latest: Optional[int] = None
    protect_base_images: bool = True
    max_cache_size: Optional[int] = None
    high_watermark_percent: Optional[float] = None
    low_watermark_percent: Optional[float] = None
    build_cache_reserve: Optional[int] = None
    max_deletions: Optional[int] = None
    state_path: str = DEFAULT_STATE_PATH

    @property
    def budgeted(self) -> bool:
        """Whether image and build cache removal is driven by a size budget or watermarks."""
        return self.max_cache_size is not None or self.high_watermark_percent is not None

    @property
    def sizes_needed(self) -> bool:
        """Whether the plan needs the engine's walk of container layers and volumes (their bytes)."""
        return self.containers or self.volumes != 'none'

    def keeps_labels(self, labels: Dict[str, str]) -> bool:
        """True when a keep_labels rule protects an object with these labels."""
        return any(rule.matches(labels) for rule in self.keep_labels)


class _Problems:
    """Every bad option of one validation, each message naming the option (``prefix`` + name) and the value."""

    def __init__(self, prefix: str = '') -> None:
        self.prefix = prefix
        self.messages: List[str] = []

    def add(self, option: str, value: Any, why: str) -> None:
        self.messages.append('%s%s=%r: %s' % (self.prefix, option, value, why))

    def unit(self, option: str, value: Any, parser: Callable[[Any], Any]) -> Any:
        """The parsed value, or None when unset or bad (then recorded)."""
        if value is None or value == '':
            return None
        try:
            return parser(value)
        except UnitError as exc:
            self.add(option, value, str(exc))
            return None

    def each(self, values: Any, check: Callable[[Any], Any]) -> Tuple[Any, ...]:
        """``check`` on every entry of a list option, recording the PolicyError of each bad one."""
        good = []
        for value in values or []:
            try:
                good.append(check(value))
            except PolicyError as exc:
                self.messages.append(self.prefix + str(exc))
        return tuple(good)

    def not_negative(self, option: str, value: Optional[int]) -> Optional[int]:
        if value is not None and value < 0:
            self.add(option, value, 'must be 0 or more')
            return None
        return value


def _fail(option: str, value: Any, why: str) -> PolicyError:
    return PolicyError('%s=%r: %s' % (option, value, why))


def parse_label_rule(text: str) -> LabelRule:
    """``key`` or ``key=value``; raises PolicyError naming keep_labels."""
    key, sep, value = str(text).partition('=')
    if not _LABEL_KEY.match(key):
        raise _fail('keep_labels', text, 'expected a label key or key=value, the key made of letters, digits, . _ / -')
    return LabelRule(key=key, value=value if sep else None)


def check_glob(pattern: str) -> str:
    """A reference glob like ``nginx:*`` or ``registry.example.com/base/*``; raises PolicyError."""
    text = str(pattern).strip()
    if not text or not _GLOB_CHARS.match(text):
        raise _fail('keep_images', pattern, 'expected an image reference glob such as nginx:* or registry.example.com/base/*')
    depth = 0
    for char in text:
        depth += {'[': 1, ']': -1}.get(char, 0)
        if depth not in (0, 1):
            raise _fail('keep_images', pattern, 'unbalanced [ ] in the glob')
    if depth:
        raise _fail('keep_images', pattern, 'unbalanced [ ] in the glob')
    try:
        re.compile(fnmatch.translate(text))
    except re.error as exc:
        raise _fail('keep_images', pattern, 'not a valid glob (%s)' % exc) from None
    return text


def validate_policy(params: Dict[str, Any]) -> Policy:
    """Turn module parameters into a Policy, or raise PolicyError (naming every bad option) before anything runs."""
    policy, problems = _validate(params, '')
    if problems:
        raise PolicyError('; '.join(problems))
    return policy


def policy_problems(params: Dict[str, Any], prefix: str = '') -> List[str]:
    """What validate_policy refuses, one message per bad option, named ``prefix`` + option (for the role)."""
    return _validate(params, prefix)[1]


def _validate(params: Dict[str, Any], prefix: str) -> Tuple[Policy, List[str]]:
    problems = _Problems(prefix)
    high = problems.unit('high_watermark_percent', params.get('high_watermark_percent'), parse_percent)
    low = problems.unit('low_watermark_percent', params.get('low_watermark_percent'), parse_percent)
    if low is not None and high is None and params.get('high_watermark_percent') in (None, ''):
        problems.add('low_watermark_percent', params.get('low_watermark_percent'), 'needs high_watermark_percent as well')
    if high is not None:
        low = high if low is None else low
        if low > high:
            problems.messages.append(
                '%slow_watermark_percent=%r is above %shigh_watermark_percent=%r; the low mark must be at or below '
                'the high mark' % (prefix, params.get('low_watermark_percent'), prefix, params.get('high_watermark_percent')))
    policy = Policy(
        containers=bool(params.get('containers')),
        images=params.get('images') or 'none',
        networks=bool(params.get('networks')),
        volumes=params.get('volumes') or 'none',
        build_cache=params.get('build_cache') or 'none',
        older_than=problems.unit('older_than', params.get('older_than'), parse_duration),
        age_basis=params.get('age_basis') or 'last_used',
        keep_images=problems.each(params.get('keep_images'), check_glob),
        keep_labels=problems.each(params.get('keep_labels'), parse_label_rule),
        keep_latest=problems.not_negative('keep_latest', params.get('keep_latest')),
        protect_base_images=params.get('protect_base_images', True) is not False,
        max_cache_size=problems.unit('max_cache_size', params.get('max_cache_size'), parse_size),
        high_watermark_percent=high,
        low_watermark_percent=low,
        build_cache_reserve=problems.unit('build_cache_reserve', params.get('build_cache_reserve'), parse_size),
        max_deletions=problems.not_negative('max_deletions', params.get('max_deletions')),
        state_path=params.get('state_path') or DEFAULT_STATE_PATH,
    )
    _check_choices(policy, problems)
    budget_option = next((option for option in ('max_cache_size', 'high_watermark_percent')
                          if params.get(option) not in (None, '')), None)
    if budget_option and policy.images == 'none' and policy.build_cache == 'none':
        problems.add(budget_option, params.get(budget_option), 'needs images or build_cache to name what may be removed '
                     'to meet it (images=%r, build_cache=%r)' % (policy.images, policy.build_cache))
    if not policy.state_path.startswith('/'):
        problems.add('state_path', policy.state_path, 'must be an absolute path on the managed host')
    if params.get('build_cache_reserve') not in (None, '') and policy.build_cache == 'none':
        problems.add('build_cache_reserve', params.get('build_cache_reserve'),
                     'has no effect unless build_cache is unused or all')
    return policy, problems.messages


def _check_choices(policy: Policy, problems: _Problems) -> None:
    """Choices are enforced by AnsibleModule too; this keeps direct callers honest."""
    for option, value, choices in (('images', policy.images, IMAGE_TARGETS),
                                   ('volumes', policy.volumes, VOLUME_TARGETS),
                                   ('build_cache', policy.build_cache, BUILD_CACHE_TARGETS),
                                   ('age_basis', policy.age_basis, AGE_BASES)):
        if value not in choices:
            problems.add(option, value, 'expected one of %s' % ', '.join(choices))


def policy_summary(policy: Policy) -> Dict[str, Any]:
    """The policy as plain data for results and reports."""
    data: Dict[str, Any] = dict(policy.__dict__)
    data['keep_images'] = list(policy.keep_images)
    data['keep_labels'] = [rule.key if rule.value is None else '%s=%s' % (rule.key, rule.value)
                           for rule in policy.keep_labels]
    return data
