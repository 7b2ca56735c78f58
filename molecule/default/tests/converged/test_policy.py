# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After converge and idempotence: each host lost exactly what its policy (examples/inventory) names.

The sandbox seed is the same on every host: tagged images loaded with creation dates weeks to months ago
(cw/app and cw/web 1.0, 1.1, 2.0, cw/tools 0.9 and 1.0, the registry.example.com/base images) and four
months-old dangling ones; images built seconds before the run (cw/busybox, cw/tools 2.0 and dev,
cw/bk-app, their intermediate and dangling images); containers: cw-running, cw-created (cw/app:1.0),
cw-exited-ok and cw-exited-fail (cw/tools:2.0), cw-pins-dangling (a dangling image); BuildKit cache;
two unused networks; named and anonymous volumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, Optional

import pytest

testinfra_hosts = ['all']

STOPPED = frozenset({'cw-created', 'cw-exited-ok', 'cw-exited-fail', 'cw-pins-dangling'})
OLD_TAGS = frozenset({'cw/app:1.1', 'cw/app:2.0', 'cw/app:latest', 'cw/web:1.0', 'cw/web:1.1', 'cw/web:2.0',
                      'cw/web:latest', 'cw/tools:0.9', 'cw/tools:1.0'})
NEW_TAGS = frozenset({'cw/tools:2.0', 'cw/tools:dev', 'cw/bk-app:1.0'})
OLD_DANGLING = 4


@dataclass(frozen=True)
class Expected:
    """What the policy of a host removes; everything else must stay."""

    tags: FrozenSet[str] = frozenset()
    untagged: Optional[int] = 0
    containers: FrozenSet[str] = frozenset()
    networks: FrozenSet[str] = frozenset()
    all_build_cache: bool = False
    policy: str = field(default='', compare=False)


EXPECTED = {
    # ci_runners: unused images, all build cache, stopped containers, networks; older than 12h.
    # Kept: base images (keep_images), what containers use (cw/app:1.0, cw/tools:2.0, cw/busybox), what is new.
    'ci-runner-1': Expected(tags=OLD_TAGS, untagged=OLD_DANGLING, policy='ci_runners, 12h'),
    # host_vars exception: no age limit. Everything no running container uses goes, base images excepted.
    'ci-runner-2': Expected(tags=OLD_TAGS | NEW_TAGS | {'cw/app:1.0'}, untagged=None, containers=STOPPED,
                            networks=frozenset({'cw-net-unused-1', 'cw-net-unused-2'}), all_build_cache=True,
                            policy='ci_runners, no age limit'),
    # app_servers: dangling images unused for 30 days only.
    'app-1': Expected(untagged=OLD_DANGLING, policy='app_servers, dangling, 30d'),
}


@pytest.fixture(name='expected')
def expected_fixture(hostname: str) -> Expected:
    """The expectation of the host under test."""
    return EXPECTED[hostname]


def test_removed_tags_are_exactly_the_policy(listings, expected: Expected) -> None:
    """Tags gone are the ones the policy names; every other tag still points at the same image."""
    before, now = listings
    assert before.tags() - now.tags() == expected.tags, expected.policy
    for tag in now.tags():
        assert now.image_of(tag) == before.image_of(tag), tag
    assert set(now.images) <= set(before.images)


def test_untagged_images(listings, expected: Expected) -> None:
    """The months-old dangling images go where there is an age limit (None: no age limit, so every untagged
    image goes but the parents of the images that stay)."""
    before, now = listings
    if expected.untagged is None:
        assert now.untagged() <= now.ancestors(image for image, tags in now.images.items() if tags), expected.policy
        assert len(now.untagged()) < len(before.untagged()) - OLD_DANGLING
    else:
        assert len(before.untagged() - set(now.images)) == expected.untagged, expected.policy


def test_containers_networks_volumes(listings, expected: Expected) -> None:
    """Stopped containers and unused networks go only where the policy says; volumes never."""
    before, now = listings
    assert set(before.containers) - set(now.containers) == expected.containers
    assert before.networks - now.networks == expected.networks
    assert now.volumes == before.volumes


def test_build_cache(listings, expected: Expected) -> None:
    """All build cache goes with build_cache=all and no age limit; elsewhere it is young or not a target."""
    before, now = listings
    assert before.build_cache, 'the seed made no build cache'
    assert now.build_cache == (set() if expected.all_build_cache else before.build_cache)


def test_nothing_a_container_uses_is_gone(listings) -> None:
    """Every container left still has its image and that image's parents, and the running one still runs."""
    before, now = listings
    assert now.containers['cw-running'].status == 'running'
    for name, container in now.containers.items():
        assert container.image in now.images, name
        assert now.ancestors([container.image]) <= set(now.images), name
        assert container == before.containers[name], name
