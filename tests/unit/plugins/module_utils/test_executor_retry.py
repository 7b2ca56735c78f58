# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""executor.py, the pure parts: retrying while another prune runs, and what an interrupted run left."""

from __future__ import annotations

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import EngineAPIError
from ansible_collections.cachewarden.docker.plugins.module_utils.executor import (
    PRUNE_BACKOFF_SECONDS, PRUNE_RETRIES, Executor, Outcome, busy_message, remaining_after, with_prune_retry)
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import Plan, PlanItem
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import validate_policy

BUSY = 'a prune operation is already running'


class Flaky:
    """A call that fails with the given errors, one per attempt, then returns ``result``."""

    def __init__(self, errors, result='done'):
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def test_success_needs_no_sleep():
    sleeps = []
    call = Flaky([])
    assert with_prune_retry(call, sleep=sleeps.append) == 'done'
    assert call.calls == 1 and sleeps == []


@pytest.mark.parametrize('message', [BUSY, 'Error response from daemon: a prune operation is already running',
                                     'Prune Is Already Running'])
def test_busy_engine_is_retried_with_doubling_sleeps(message):
    sleeps = []
    call = Flaky([EngineAPIError(409, message)] * 3, result={'SpaceReclaimed': 5})
    assert with_prune_retry(call, sleep=sleeps.append) == {'SpaceReclaimed': 5}
    assert call.calls == 4
    assert sleeps == [PRUNE_BACKOFF_SECONDS, PRUNE_BACKOFF_SECONDS * 2, PRUNE_BACKOFF_SECONDS * 4]


def test_gives_up_after_the_retry_limit():
    sleeps = []
    error = EngineAPIError(409, BUSY)
    call = Flaky([error] * (PRUNE_RETRIES + 5))
    with pytest.raises(EngineAPIError) as caught:
        with_prune_retry(call, sleep=sleeps.append)
    assert caught.value is error
    assert call.calls == PRUNE_RETRIES + 1
    assert sleeps == [PRUNE_BACKOFF_SECONDS * 2 ** n for n in range(PRUNE_RETRIES)]


def test_limit_and_backoff_are_parameters():
    sleeps = []
    call = Flaky([EngineAPIError(409, BUSY)] * 10)
    with pytest.raises(EngineAPIError):
        with_prune_retry(call, sleep=sleeps.append, retries=2, backoff=3.0)
    assert call.calls == 3 and sleeps == [3.0, 6.0]
    sleeps = []
    call = Flaky([EngineAPIError(409, BUSY)] * 2)
    assert with_prune_retry(call, sleep=sleeps.append, retries=2, backoff=3.0) == 'done'
    assert sleeps == [3.0, 6.0]
    call = Flaky([EngineAPIError(409, BUSY)])
    with pytest.raises(EngineAPIError):
        with_prune_retry(call, sleep=sleeps.append, retries=0)
    assert call.calls == 1


@pytest.mark.parametrize('error', [
    EngineAPIError(409, 'conflict: unable to delete 0123456789ab (cannot be forced) - image is being used'),
    EngineAPIError(409, 'prune failed'),
    EngineAPIError(409, 'container is running'),
    EngineAPIError(500, BUSY),
    EngineAPIError(503, 'a prune operation is already running, try later'),
    EngineAPIError(404, 'no such image'),
    RuntimeError(BUSY),
])
def test_other_errors_raise_at_once(error):
    sleeps = []
    call = Flaky([error])
    with pytest.raises(type(error)) as caught:
        with_prune_retry(call, sleep=sleeps.append)
    assert caught.value is error
    assert call.calls == 1 and sleeps == []


def test_a_different_error_after_busy_retries_raises_at_once():
    sleeps = []
    other = EngineAPIError(500, 'internal error')
    call = Flaky([EngineAPIError(409, BUSY), other, EngineAPIError(409, BUSY)])
    with pytest.raises(EngineAPIError) as caught:
        with_prune_retry(call, sleep=sleeps.append)
    assert caught.value is other and call.calls == 2 and sleeps == [PRUNE_BACKOFF_SECONDS]


# ---------------------------------------------------------------- remaining_after
def _plan():
    return Plan(items=[
        PlanItem('container', 'c1', ['job'], 10, 'stopped container (exited)'),
        PlanItem('image', 'i1', ['cw/app:1'], 100, 'unused image'),
        PlanItem('image', 'i2', ['cw/app:2'], 0, 'unused image (untag only)', 'untag'),
        PlanItem('volume', 'v1', ['v1'], 5, 'unused named volume'),
        PlanItem('build_cache', 'v1', ['same id, other type'], 7, 'unused build cache (regular)'),
    ])


def test_remaining_after_a_complete_run_is_none():
    plan = _plan()
    outcome = Outcome(removed=plan.items[:3], skipped=[
        {'type': 'volume', 'id': 'v1', 'names': ['v1'], 'reason': 'in use since the plan was made'},
        {'type': 'build_cache', 'id': 'v1', 'names': [], 'reason': 'the engine kept it'}])
    assert remaining_after(outcome, plan) is None
    assert remaining_after(Outcome(), Plan()) is None


def test_remaining_after_an_interrupted_run_lists_what_is_left_in_plan_order():
    plan = _plan()
    outcome = Outcome(removed=[plan.items[0]], skipped=[
        {'type': 'volume', 'id': 'v1', 'names': ['v1'], 'reason': 'already gone'}])
    left = remaining_after(outcome, plan)
    assert [(item.type, item.id) for item in left] == [('image', 'i1'), ('image', 'i2'), ('build_cache', 'v1')]
    assert remaining_after(Outcome(), plan) == plan.items


# ---------------------------------------------------------------- a prune that stays busy
class BusyEngine:
    """Removes containers; every build cache prune answers 409 (another prune is running), or ``other``."""

    api_version = '1.47'

    def __init__(self, error):
        self.error = error
        self.deleted = []
        self.prunes = 0

    def supports(self, _minimum):
        return True

    def delete(self, path, params=None):
        self.deleted.append(path)

    def post(self, path, params=None):
        self.prunes += 1
        raise self.error

    def get(self, path, params=None):
        """The build cache as it is after the failed prune: r1 gone, r2 still there."""
        assert path == '/system/df' and params == {'type': ['build-cache']}
        return {'BuildCache': [{'ID': 'r2'}]}


def _cache_plan():
    return Plan(items=[PlanItem('container', 'c1', ['job'], 10, 'stopped container (exited)'),
                       PlanItem('build_cache', 'r1', ['regular'], 7, 'unused build cache (regular)'),
                       PlanItem('build_cache', 'r2', ['regular'], 7, 'unused build cache (regular)')])


def test_a_prune_busy_through_every_retry_stops_the_run():
    engine = BusyEngine(EngineAPIError(409, BUSY))
    plan = _cache_plan()
    sleeps = []
    outcome = Executor(engine, validate_policy({'build_cache': 'all'}), sleep=sleeps.append).run(plan)
    assert sleeps == [PRUNE_BACKOFF_SECONDS * 2 ** n for n in range(PRUNE_RETRIES)]
    assert engine.deleted == ['/containers/c1'] and [item.id for item in outcome.removed] == ['c1']
    assert engine.prunes == PRUNE_RETRIES + 1, 'one call names both records; it is retried, then the run stops'
    assert outcome.interrupted == busy_message(EngineAPIError(409, BUSY))
    assert 'HTTP 409 after %d retries' % PRUNE_RETRIES in outcome.interrupted and '15.5 s' in outcome.interrupted
    assert [item.id for item in remaining_after(outcome, plan)] == ['r1', 'r2']
    assert outcome.errors == []


def test_other_prune_errors_are_recorded_and_the_run_goes_on():
    engine = BusyEngine(EngineAPIError(500, 'internal error'))
    outcome = Executor(engine, validate_policy({'build_cache': 'all'})).run(_cache_plan())
    assert outcome.interrupted is None and engine.prunes == 1
    assert outcome.errors == ['build cache r2: internal error']
    assert [item.id for item in outcome.removed] == ['c1', 'r1'], 'what the failed call did remove is read back'
