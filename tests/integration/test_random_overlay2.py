# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The randomized differential harness (random_differential.py) on Debian's Docker (20.10), overlay2: every seed x policy."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest
from fleet_helpers import reset
from random_differential import POLICIES, case_id, check_case, seeds

from sandbox.fleet import Fleet


@pytest.fixture(scope='module', autouse=True)
def back_to_basic(fleet: Fleet) -> Iterator[None]:
    """The hosts go back to the basic scenario the other tests of this worker expect."""
    yield
    reset(fleet, *(fleet.host(name) for name in ('h1', 'h3')))


@pytest.mark.parametrize('seed', seeds())
@pytest.mark.parametrize('policy', POLICIES, ids=[case_id(policy) for policy in POLICIES])
def test_random_cache(fleet: Fleet, inventory: str, seed: int, policy: Dict[str, Any]) -> None:
    check_case(fleet, inventory, fleet.host('h1'), fleet.host('h3'), seed, policy)
