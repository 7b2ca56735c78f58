# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""planner.py on hand-made hosts: what goes, what stays and why, in which order, for how many bytes."""

from __future__ import annotations

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.image_bytes import freed_bytes
from ansible_collections.cachewarden.docker.plugins.module_utils.image_plan import image_last_used
from ansible_collections.cachewarden.docker.plugins.module_utils.plan_items import TYPE_ORDER
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import make_plan
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, GB, HOUR, NOW, cache, container, filesystem, image, network, policy, snapshot, volume)


def plan_for(snap, last_used=None, **options):
    return make_plan(snap, policy(**options), last_used)


def planned(plan, kind=None):
    return [item.id for item in plan.items if kind is None or item.type == kind]


def item(plan, ident):
    matches = [entry for entry in plan.items if entry.id == ident]
    assert len(matches) == 1, 'expected %s exactly once in the plan, got %r' % (ident, plan.items)
    return matches[0]


def reasons(plan, ident):
    return [entry['reason'] for entry in plan.skipped if entry['id'] == ident]


# ---------------------------------------------------------------- containers
@pytest.mark.parametrize('state, goes', [
    ('created', True), ('exited', True), ('dead', True),
    ('running', False), ('paused', False), ('restarting', False), ('removing', False),
])
def test_only_stopped_containers_are_planned(state, goes):
    ctr = container('job', state=state, size_rw=5 * 1000)
    snap = snapshot(containers=[ctr])
    plan = plan_for(snap, containers=True)
    assert planned(plan) == ([ctr.id] if goes else [])
    if goes:
        assert item(plan, ctr.id).bytes == 5000
        assert state in item(plan, ctr.id).reason
        assert item(plan, ctr.id).names == ['job']
    assert planned(plan_for(snap, containers=False)) == []


def test_container_keep_labels_and_age():
    kept = container('kept', labels={'keep': 'yes'})
    young = container('young', created=NOW - HOUR)
    old = container('old', created=NOW - 2 * DAY, size_rw=-1)
    plan = plan_for(snapshot(containers=[kept, young, old]), containers=True, keep_labels=['keep'], older_than='1d')
    assert planned(plan) == [old.id]
    assert item(plan, old.id).bytes == 0  # size not computed counts as 0
    assert reasons(plan, kept.id) == ['keep_labels']
    assert reasons(plan, young.id) == ['newer than older_than']


# ---------------------------------------------------------------- images: targets and use
def test_dangling_versus_unused():
    dangling = image('dangling', size=10)
    tagged = image('tagged', 'cw/app:1', size=20)
    snap = snapshot(images=[dangling, tagged])
    assert planned(plan_for(snap, images='none')) == []
    assert planned(plan_for(snap, images='dangling')) == [dangling.id]
    plan = plan_for(snap, images='unused')
    assert sorted(planned(plan)) == sorted([dangling.id, tagged.id])
    assert item(plan, dangling.id).reason == 'dangling image'
    assert item(plan, tagged.id).reason == 'unused image'
    assert item(plan, tagged.id).names == ['cw/app:1']


def test_image_of_stopped_container_stays_unless_the_container_goes():
    app = image('app', 'cw/app:1', size=100)
    job = container('job', app, state='exited')
    snap = snapshot(images=[app], containers=[job])
    plan = plan_for(snap, images='unused')
    assert planned(plan) == []
    assert reasons(plan, app.id) == ['in use by container job']
    plan = plan_for(snap, images='unused', containers=True)
    assert planned(plan) == [job.id, app.id]
    assert item(plan, app.id).bytes == 100


@pytest.mark.parametrize('state', ['running', 'paused', 'restarting'])
def test_image_of_active_container_never_goes(state):
    app = image('app', 'cw/app:1', size=100)
    snap = snapshot(images=[app], containers=[container('web', app, state=state)])
    plan = plan_for(snap, images='unused', containers=True)
    assert planned(plan) == []
    assert reasons(plan, app.id) == ['in use by container web']


def test_dangling_image_used_by_a_container_stays():
    orphan = image('orphan')  # its tag moved to a newer build while the container kept running
    snap = snapshot(images=[orphan], containers=[container('old-web', orphan, state='running')])
    assert planned(plan_for(snap, images='dangling')) == []


# ---------------------------------------------------------------- images: parents and bases
def _chain():
    base = image('base', layers=[('L1', 10)])
    mid = image('mid', parent=base, layers=[('L2', 20)])
    top = image('top', 'cw/app:1', parent=mid, layers=[('L3', 30)])
    return base, mid, top


def test_untagged_parents_cascade_children_first():
    base, mid, top = _chain()
    snap = snapshot(images=[base, mid, top])
    assert base.intermediate and mid.intermediate
    plan = plan_for(snap, images='unused')
    assert planned(plan) == [top.id, mid.id, base.id]
    # The child holds its parents' layers too; each layer is credited once, to one of its holders.
    assert sum(item(plan, i).bytes for i in (top.id, mid.id, base.id)) == 60
    assert item(plan, top.id).reason == 'unused image'
    assert 'untagged parent' in item(plan, mid.id).reason
    assert 'untagged parent' in item(plan, base.id).reason
    assert plan.predicted_bytes == 60
    # Intermediate images are not dangling: `docker image prune` leaves the chain alone.
    assert planned(plan_for(snap, images='dangling')) == []


def test_untagged_parent_stays_while_another_child_stays():
    base, mid, top = _chain()
    other = image('other', 'cw/other:1', parent=mid, layers=[('L4', 40)])
    snap = snapshot(images=[base, mid, top, other])
    plan = plan_for(snap, images='unused', keep_images=['cw/other:*'])
    assert planned(plan) == [top.id]
    assert item(plan, top.id).bytes == 30
    # A dangling child in dangling mode: the intermediate parent keeps its tagged child.
    stray = image('stray', parent=mid, layers=[('L5', 5)])
    plan = plan_for(snapshot(images=[base, mid, top, stray]), images='dangling')
    assert planned(plan) == [stray.id]


def test_tagged_parent_of_kept_child_is_protected():
    parent = image('parent', 'cw/base:1', layers=[('P', 100)])
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 10)])
    snap = snapshot(images=[parent, child])
    plan = plan_for(snap, images='unused', keep_images=['cw/app:*'])
    assert planned(plan) == []
    assert any('base' in reason or 'parent' in reason for reason in reasons(plan, parent.id))
    assert reasons(plan, child.id) == ['keep_images: cw/app:*']


def test_tagged_parent_of_kept_child_is_untagged_without_protection():
    parent = image('parent', 'cw/base:1', layers=[('P', 100)])
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 10)])
    plan = plan_for(snapshot(images=[parent, child]), images='unused', keep_images=['cw/app:*'],
                    protect_base_images=False)
    assert planned(plan) == [parent.id]
    untag = item(plan, parent.id)
    assert (untag.action, untag.bytes, untag.names) == ('untag', 0, ['cw/base:1'])
    assert plan.predicted_bytes == 0


def test_tagged_parent_goes_with_its_child():
    parent = image('parent', 'cw/base:1', layers=[('P', 100)])
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 10)])
    plan = plan_for(snapshot(images=[parent, child]), images='unused')
    assert planned(plan) == [child.id, parent.id]
    assert [item(plan, i).action for i in planned(plan)] == ['remove', 'remove']
    assert plan.predicted_bytes == 110


def test_parent_of_image_in_use_stays_even_without_protection():
    parent = image('parent', 'cw/base:1', layers=[('P', 100)])
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 10)])
    snap = snapshot(images=[parent, child], containers=[container('web', child, state='running')])
    plan = plan_for(snap, images='unused', protect_base_images=False)
    assert planned(plan) == []
    assert any('parent of image in use' in reason for reason in reasons(plan, parent.id))


@pytest.mark.parametrize('label', ['nginx:1.23', 'docker.io/library/nginx:1.23', 'index.docker.io/library/nginx:1.23'])
def test_base_image_label_protects_while_the_naming_image_stays(label):
    nginx = image('nginx', 'nginx:1.23', layers=[('N', 50)])
    app = image('app', 'cw/app:1', layers=[('A', 5)], labels={'base_image': label})
    snap = snapshot(images=[nginx, app])
    plan = plan_for(snap, images='unused', keep_images=['cw/app:*'])
    assert planned(plan) == []
    assert any('base image' in reason and 'cw/app:1' in reason for reason in reasons(plan, nginx.id))
    # The naming image goes too: nothing protects the base any more.
    assert sorted(planned(plan_for(snap, images='unused'))) == sorted([nginx.id, app.id])
    # Without protection the label means nothing.
    assert planned(plan_for(snap, images='unused', keep_images=['cw/app:*'], protect_base_images=False)) == \
        [nginx.id]


def test_base_image_label_protection_follows_chains_and_use():
    nginx = image('nginx', 'nginx:1.23', layers=[('N', 50)])
    runtime = image('runtime', 'cw/runtime:1', layers=[('R', 20)], labels={'base_image': 'nginx:1.23'})
    app = image('app', 'cw/app:1', layers=[('A', 5)], labels={'base_image': 'cw/runtime:1'})
    unrelated = image('unrelated', 'cw/old:1', layers=[('O', 7)], labels={'base_image': 'nginx'})  # nginx:latest
    snap = snapshot(images=[nginx, runtime, app, unrelated], containers=[container('web', app, state='running')])
    plan = plan_for(snap, images='unused')
    assert planned(plan) == [unrelated.id]
    assert reasons(plan, runtime.id) and reasons(plan, nginx.id)


# ---------------------------------------------------------------- keep rules
@pytest.mark.parametrize('pattern, tag, kept', [
    ('cw/app:*', 'cw/app:1', True),
    ('cw/app:*', 'cw/app:2024.01-rc1', True),
    ('cw/app:*', 'cw/api:1', False),
    ('cw/app:*', 'cw/app-worker:1', False),
    ('registry.example.com/base/*', 'registry.example.com/base/alpine:3.19', True),
    ('registry.example.com/base/*', 'registry.example.com/other/alpine:3.19', False),
    ('registry.example.com/base/*', 'base/alpine:3.19', False),
    ('nginx:1.2?', 'nginx:1.23', True),
    ('nginx:1.2[0-4]', 'nginx:1.25', False),
    ('nginx:*', 'nginx:1.23', True),
    # docker.io/library is the default registry and namespace: a ref with or without it is the same image.
    ('nginx:*', 'docker.io/library/nginx:1.23', True),
    ('docker.io/library/nginx:*', 'docker.io/library/nginx:1.23', True),
    ('docker.io/library/nginx:*', 'nginx:1.23', True),
    ('nginx:*', 'nginx-unprivileged:1.23', False),
])
def test_keep_images_globs(pattern, tag, kept):
    img = image('img', tag, size=10)
    plan = plan_for(snapshot(images=[img]), images='unused', keep_images=[pattern])
    assert planned(plan) == ([] if kept else [img.id])
    assert reasons(plan, img.id) == (['keep_images: %s' % pattern] if kept else [])


def test_keep_images_any_tag_of_a_multi_tag_image_keeps_it():
    img = image('img', 'cw/app:1', 'cw/app:stable', 'mirror.local/app:1', size=10)
    assert planned(plan_for(snapshot(images=[img]), images='unused', keep_images=['mirror.local/*'])) == []


LABEL_CASES = [
    ({'keep': 'yes'}, True),
    ({'keep': ''}, True),
    ({'tier': 'prod'}, True),
    ({'tier': 'dev'}, False),
    ({'keeper': 'x'}, False),
    ({}, False),
]


@pytest.mark.parametrize('labels, kept', LABEL_CASES)
@pytest.mark.parametrize('kind', ['container', 'image', 'volume', 'network'])
def test_keep_labels_on_every_type(kind, labels, kept):
    if kind == 'container':
        obj = container('obj', labels=labels)
        snap, ident = snapshot(containers=[obj]), obj.id
    elif kind == 'image':
        obj = image('obj', 'cw/app:1', size=10, labels=labels)
        snap, ident = snapshot(images=[obj]), obj.id
    elif kind == 'volume':
        obj = volume('obj', labels=labels)
        snap, ident = snapshot(volumes=[obj]), obj.name
    else:
        obj = network('obj', labels=labels)
        snap, ident = snapshot(networks=[obj]), obj.id
    plan = plan_for(snap, containers=True, images='unused', volumes='all', networks=True,
                    keep_labels=['keep', 'tier=prod'])
    assert planned(plan) == ([] if kept else [ident])
    assert [item.type for item in plan.items] == ([] if kept else [kind])
    assert len(reasons(plan, ident)) == (1 if kept else 0)
    if kept:
        assert reasons(plan, ident)[0].startswith('keep_labels')


def test_keep_latest_per_repository():
    app = [image('app%d' % n, 'cw/app:%d' % n, size=10, created=NOW - (10 - n) * DAY) for n in (1, 2, 3)]
    other = [image('x%d' % n, 'other/x:%d' % n, size=10, created=NOW - (20 - n) * DAY) for n in (1, 2)]
    ported = [image('p%d' % n, 'localhost:5000/app:%d' % n, size=10, created=NOW - (30 - n) * DAY) for n in (1, 2)]
    snap = snapshot(images=app + other + ported)
    plan = plan_for(snap, images='unused', keep_latest=2)
    assert sorted(planned(plan)) == sorted([app[0].id])
    assert any('keep_latest' in r and 'cw/app' in r for r in reasons(plan, app[2].id))
    plan = plan_for(snap, images='unused', keep_latest=1)
    assert sorted(planned(plan)) == sorted([app[0].id, app[1].id, other[0].id, ported[0].id])
    assert any('localhost:5000/app' in r for r in reasons(plan, ported[1].id))
    assert len(planned(plan_for(snap, images='unused'))) == 7


def test_keep_latest_counts_tags_not_images():
    # One image carrying the two newest tags fills both slots of keep_latest=2.
    newest = image('newest', 'cw/app:3', 'cw/app:latest', size=10, created=NOW - DAY)
    older = image('older', 'cw/app:2', size=10, created=NOW - 2 * DAY)
    plan = plan_for(snapshot(images=[newest, older]), images='unused', keep_latest=2)
    assert planned(plan) == [older.id]


# ---------------------------------------------------------------- age
def test_older_than_with_age_basis():
    old = image('old', 'cw/app:1', size=10, created=NOW - 30 * DAY)
    young = image('young', 'cw/app:2', size=10, created=NOW - DAY)
    retagged = image('retagged', 'cw/app:3', size=10, created=NOW - 30 * DAY, last_tagged=NOW - HOUR)
    snap = snapshot(images=[old, young, retagged])
    recent_use = {old.id: NOW - HOUR}

    plan = plan_for(snap, images='unused', older_than='7d')
    assert planned(plan) == [old.id]
    assert reasons(plan, young.id) == ['newer than older_than (last used)']
    assert reasons(plan, retagged.id) == ['newer than older_than (last used)']

    plan = plan_for(snap, recent_use, images='unused', older_than='7d')
    assert planned(plan) == []
    assert reasons(plan, old.id) == ['newer than older_than (last used)']

    plan = plan_for(snap, recent_use, images='unused', older_than='7d', age_basis='created')
    assert sorted(planned(plan)) == sorted([old.id, retagged.id])
    assert reasons(plan, young.id) == ['newer than older_than (created)']


def test_image_last_used_is_the_newest_known_time():
    img = image('img', 'cw/app:1', created=100, last_tagged=200)
    assert image_last_used(img, {}) == 200
    assert image_last_used(img, {img.id: 300}) == 300
    assert image_last_used(img, {img.id: 50, 'sha256:other': 900}) == 200


# ---------------------------------------------------------------- volumes and networks
def test_volumes_by_target_and_use():
    anon = volume('a' * 64, anonymous=True, size=10)
    data = volume('data', size=20)
    live = volume('live', size=30)
    held = volume('held', size=40)
    unsized = volume('unsized', size=-1)
    web = container('web', state='running', volumes=['live'])
    job = container('job', state='exited', volumes=['held'])
    snap = snapshot(containers=[web, job], volumes=[anon, data, live, held, unsized])
    assert planned(plan_for(snap, volumes='none')) == []
    assert planned(plan_for(snap, volumes='anonymous')) == [anon.name]
    plan = plan_for(snap, volumes='all')
    assert planned(plan) == [anon.name, data.name, unsized.name]
    assert [item(plan, name).bytes for name in planned(plan)] == [10, 20, 0]
    assert 'anonymous' in item(plan, anon.name).reason and 'named' in item(plan, data.name).reason
    plan = plan_for(snap, volumes='all', containers=True)
    assert planned(plan, 'volume') == [anon.name, data.name, held.name, unsized.name]
    assert planned(plan, 'container') == [job.id]


def test_volume_age():
    young = volume('young', created=NOW - HOUR)
    old = volume('old', created=NOW - 3 * DAY)
    plan = plan_for(snapshot(volumes=[young, old]), volumes='all', older_than='2d')
    assert planned(plan) == ['old']
    assert reasons(plan, 'young') == ['newer than older_than']


def test_networks():
    reserved = [network(name) for name in ('bridge', 'host', 'none', 'ingress', 'docker_gwbridge')]
    front = network('front')
    jobs = network('jobs')
    idle = network('idle')
    young = network('young', created=NOW - HOUR)
    web = container('web', state='running', networks=['front'])
    job = container('job', state='exited', networks=['jobs'])
    snap = snapshot(containers=[web, job], networks=reserved + [front, jobs, idle, young])
    assert planned(plan_for(snap)) == []
    assert planned(plan_for(snap, networks=True)) == sorted([idle.id, young.id])
    plan = plan_for(snap, networks=True, containers=True, older_than='1d')
    assert planned(plan, 'network') == sorted([idle.id, jobs.id])
    assert item(plan, idle.id).names == ['idle'] and item(plan, idle.id).bytes == 0
    assert reasons(plan, young.id) == ['newer than older_than']


# ---------------------------------------------------------------- build cache
def _cache_mix():
    return [cache('regular', 10), cache('shared', 20, shared=True), cache('internal', 30, kind='internal'),
            cache('frontend', 40, kind='frontend'), cache('busy', 50, in_use=True),
            cache('mount', 60, kind='exec.cachemount')]


def test_build_cache_parent_cycle_is_planned_safely():
    """Bad data: records that build on each other. None goes (none can go first), and the plan is still made."""
    first = cache('first', 10, last_used=NOW - 10 * DAY, parents=['second'])
    second = cache('second', 20, last_used=NOW - 9 * DAY, parents=['first'])
    alone = cache('alone', 5, last_used=NOW - 8 * DAY)
    for options in ({}, {'max_cache_size': '1B'}, {'build_cache_reserve': '1B'}):
        plan = plan_for(snapshot(build_cache=[first, second, alone]), build_cache='all', **options)
        assert planned(plan) == ['alone']
        assert reasons(plan, 'first') == reasons(plan, 'second') == ['a kept cache record builds on it']


def test_build_cache_unused_versus_all():
    snap = snapshot(build_cache=_cache_mix())
    assert planned(plan_for(snap)) == []
    assert sorted(planned(plan_for(snap, build_cache='unused'))) == ['mount', 'regular']
    plan = plan_for(snap, build_cache='all')
    # A shared record stays while an image holds it: the engine's prune never takes shared records.
    assert sorted(planned(plan)) == ['frontend', 'internal', 'mount', 'regular']
    assert reasons(plan, 'shared') == ['shared with a kept image']
    assert item(plan, 'regular').bytes == 10


def test_build_cache_parent_goes_only_with_all_children():
    parent = cache('parent', 10, last_used=NOW - 10 * DAY)
    child = cache('child', 20, last_used=NOW - 9 * DAY, parents=['parent'])
    assert sorted(planned(plan_for(snapshot(build_cache=[parent, child]), build_cache='unused'))) == \
        ['child', 'parent']
    busy = cache('child', 20, in_use=True, parents=['parent'])
    plan = plan_for(snapshot(build_cache=[parent, busy]), build_cache='unused')
    assert planned(plan) == []
    assert reasons(plan, 'parent') == ['a kept cache record builds on it']
    young = cache('child', 20, last_used=NOW - HOUR, parents=['parent'])
    plan = plan_for(snapshot(build_cache=[parent, young]), build_cache='unused', older_than='1d')
    assert planned(plan) == []
    grandchild = cache('grandchild', 5, last_used=NOW - HOUR, parents=['child'])
    plan = plan_for(snapshot(build_cache=[parent, child, grandchild]), build_cache='unused', older_than='1d')
    assert planned(plan) == []


def test_build_cache_records_are_listed_before_the_records_they_build_on():
    # r3 builds on r2 (via r2 -> r1 -> r0) and directly on r0: its longest chain is 3, r2's is 2.
    records = [cache('r0', 1, last_used=NOW - 9 * DAY), cache('r1', 1, last_used=NOW - 8 * DAY, parents=['r0']),
               cache('r2', 1, last_used=NOW - 7 * DAY, parents=['r1']),
               cache('r3', 1, last_used=NOW - 2 * DAY, parents=['r0', 'r2'])]
    plan = plan_for(snapshot(build_cache=records), build_cache='all')
    assert planned(plan) == ['r3', 'r2', 'r1', 'r0']


def test_build_cache_age_uses_last_used_or_created():
    rec = cache('rec', 10, last_used=NOW - HOUR, created=NOW - 30 * DAY)
    snap = snapshot(build_cache=[rec])
    assert planned(plan_for(snap, build_cache='all', older_than='7d')) == []
    assert planned(plan_for(snap, build_cache='all', older_than='7d', age_basis='created')) == ['rec']


@pytest.mark.parametrize('reserve, kept', [
    ('0', []),
    ('300', ['r3']),
    ('350', ['r3']),
    ('500', ['r2', 'r3']),
    ('600', ['r1', 'r2', 'r3']),
    ('1GB', ['r1', 'r2', 'r3']),
])
def test_build_cache_reserve_keeps_the_newest(reserve, kept):
    records = [cache('r1', 100, last_used=NOW - 3 * DAY), cache('r3', 300, last_used=NOW - DAY),
               cache('r2', 200, last_used=NOW - 2 * DAY)]
    plan = plan_for(snapshot(build_cache=records), build_cache='all', build_cache_reserve=reserve)
    assert sorted(planned(plan)) == sorted(set(['r1', 'r2', 'r3']) - set(kept))
    for ident in kept:
        assert reasons(plan, ident) == ['within build_cache_reserve']
    # What stays fits in the reserve.
    limit = policy(build_cache='all', build_cache_reserve=reserve).build_cache_reserve
    assert sum(r.size for r in records if r.id in kept) <= limit


def test_build_cache_budget_counts_shared_records_as_freeing_nothing():
    records = [cache('shared', 5 * GB, shared=True, last_used=NOW - 9 * DAY),
               cache('own', 3 * GB, last_used=NOW - 8 * DAY), cache('newest', 3 * GB, last_used=NOW - DAY)]
    # 6GB of own cache (shared bytes belong to another record), 2GB over the budget.
    plan = plan_for(snapshot(build_cache=records), build_cache='all', max_cache_size='4GB')
    assert plan.budget['cache_bytes'] == 6 * GB
    assert planned(plan) == ['own']  # a shared record no removed image holds stays (the engine keeps it)
    assert reasons(plan, 'shared') == ['shared with a kept image']
    assert reasons(plan, 'newest') == ['budget met']
    assert plan.predicted_bytes == 3 * GB


# ---------------------------------------------------------------- budgets and watermarks
def _lru_images():
    # a is the least recently used, d the most.
    return [image(name, 'cw/%s:1' % name, layers=[(name.upper(), 7 * GB)], created=NOW - (40 - n) * DAY)
            for n, name in enumerate('abcd')]


@pytest.mark.parametrize('limit, expected', [
    ('28GB', []),
    ('40GB', []),
    ('27GB', ['a']),
    ('21GB', ['a']),
    ('20GB', ['a', 'b']),
    ('1GB', ['a', 'b', 'c', 'd']),
])
def test_max_cache_size_removes_least_recently_used_first(limit, expected):
    imgs = _lru_images()
    plan = plan_for(snapshot(images=imgs), images='unused', max_cache_size=limit)
    names = {img.id: img.tags[0].split('/')[1][0] for img in imgs}
    assert sorted(names[i] for i in planned(plan)) == expected
    assert plan.budget['cache_bytes'] == 28 * GB
    assert plan.budget['bytes_to_free'] == max(28 * GB - policy(images='unused', max_cache_size=limit).max_cache_size, 0)
    for img in imgs:
        if names[img.id] not in expected:
            assert reasons(plan, img.id) == ['budget met']
    assert all('least recently used' in entry.reason for entry in plan.items)


def test_max_cache_size_follows_recorded_use():
    imgs = _lru_images()
    last_used = {imgs[0].id: NOW - HOUR}  # a was used an hour ago: b is now the least recently used
    plan = plan_for(snapshot(images=imgs), last_used, images='unused', max_cache_size='27GB')
    assert planned(plan) == [imgs[1].id]


def test_budget_never_touches_images_in_use_and_spills_to_build_cache():
    imgs = _lru_images()
    web = container('web', imgs[0], state='running')
    records = [cache('old', 3 * GB, last_used=NOW - 5 * DAY), cache('new', 3 * GB, last_used=NOW - DAY)]
    snap = snapshot(images=imgs, containers=[web], build_cache=records)
    # cache = 28 + 6 = 34GB, need 34 - 16 = 18GB: b, c (14GB) do not suffice, d (21GB) does.
    plan = plan_for(snap, images='unused', build_cache='unused', max_cache_size='16GB')
    assert sorted(planned(plan, 'image')) == sorted(img.id for img in imgs[1:])
    assert planned(plan, 'build_cache') == []
    # Only b and c may go; the build cache gives the remaining 4GB, least recently used first.
    plan = plan_for(snap, images='unused', build_cache='unused', max_cache_size='16GB', keep_images=['cw/d:*'])
    assert sorted(planned(plan, 'image')) == sorted([imgs[1].id, imgs[2].id])
    assert planned(plan, 'build_cache') == ['old', 'new']
    plan = plan_for(snap, images='unused', build_cache='unused', max_cache_size='19GB', keep_images=['cw/d:*'])
    assert planned(plan, 'build_cache') == ['old']
    assert reasons(plan, 'new') == ['budget met']


def test_watermarks():
    imgs = _lru_images()
    # Under the high mark: nothing.
    plan = plan_for(snapshot(images=imgs, fs=filesystem(100 * GB, 80 * GB)), images='unused',
                    high_watermark_percent='85', low_watermark_percent='70')
    assert planned(plan) == []
    assert plan.budget['used_percent'] == 80.0 and plan.budget['bytes_to_free'] == 0
    # Over it: down to the low mark (20GB to free at least), least recently used first.
    plan = plan_for(snapshot(images=_lru_images(), fs=filesystem(100 * GB, 90 * GB)), images='unused',
                    high_watermark_percent='85', low_watermark_percent='70')
    assert len(plan.items) == 3 and plan.predicted_bytes == 21 * GB
    assert plan.budget['bytes_to_free'] >= 20 * GB
    # No low mark: down to the high mark.
    plan = plan_for(snapshot(images=_lru_images(), fs=filesystem(100 * GB, 90 * GB)), images='unused',
                    high_watermark_percent='85')
    assert len(plan.items) == 1 and plan.predicted_bytes == 7 * GB


def test_watermark_without_filesystem_warns_and_removes_nothing():
    plan = plan_for(snapshot(images=_lru_images(), fs=None), images='unused', high_watermark_percent='10')
    assert planned(plan) == []
    assert len(plan.warnings) == 1 and 'high_watermark_percent' in plan.warnings[0]
    assert plan.budget['bytes_to_free'] == 0


def test_no_budget_no_budget_section():
    plan = plan_for(snapshot(images=_lru_images()), images='unused')
    assert plan.budget == {} and plan.warnings == []
    assert len(plan.items) == 4


# ---------------------------------------------------------------- order and bytes
def test_plan_item_order():
    base, mid, top = _chain()
    lone = image('lone', 'cw/lone:1', size=3)
    job = container('job', top, state='exited', volumes=['v'], networks=['n'])
    snap = snapshot(images=[lone, base, top, mid], containers=[job], volumes=[volume('v')],
                    networks=[network('n')], build_cache=[cache('bc', 1)])
    plan = plan_for(snap, containers=True, images='unused', volumes='all', networks=True, build_cache='all')
    kinds = [entry.type for entry in plan.items]
    assert kinds == sorted(kinds, key=TYPE_ORDER.index)
    assert kinds == ['container', 'image', 'image', 'image', 'image', 'volume', 'network', 'build_cache']
    images = planned(plan, 'image')
    assert images.index(top.id) < images.index(mid.id) < images.index(base.id)
    assert set(images) == {lone.id, base.id, mid.id, top.id}
    summary = plan.summary()
    assert summary['image'] == {'count': 4, 'bytes': 63}
    assert summary['container']['count'] == 1 and summary['build_cache'] == {'count': 1, 'bytes': 1}


def test_shared_layers_counted_once_when_all_holders_go():
    a = image('a', 'cw/a:1', layers=[('S', 100), ('A', 10)])
    b = image('b', 'cw/b:1', layers=[('S', 100), ('B', 20)])
    snap = snapshot(images=[a, b])
    assert a.shared_size == 100 and b.size == 120 and snap.layers_size == 130
    plan = plan_for(snap, images='unused')
    assert plan.predicted_bytes == 130
    assert sorted(entry.bytes for entry in plan.items) == sorted([20, 110] if a.id < b.id else [10, 120])
    plan = plan_for(snap, images='unused', keep_images=['cw/b:*'])
    assert planned(plan) == [a.id] and plan.predicted_bytes == 10


def test_shared_layer_not_counted_while_a_kept_image_holds_it():
    a = image('a', 'cw/a:1', layers=[('S', 100), ('A', 10)])
    b = image('b', 'cw/b:1', layers=[('S', 100), ('B', 20)])
    snap = snapshot(images=[a, b], containers=[container('web', b, state='running')])
    plan = plan_for(snap, images='unused')
    assert planned(plan) == [a.id] and item(plan, a.id).bytes == 10


def test_images_without_layer_detail_use_unique_size():
    known = image('known', 'cw/k:1', size=500, shared_size=200)
    unknown = image('unknown', 'cw/u:1', size=700, shared_size=-1)
    plan = plan_for(snapshot(images=[known, unknown]), images='unused')
    assert item(plan, known.id).bytes == 300
    assert item(plan, unknown.id).bytes == 700
    assert plan.predicted_bytes == 1000


def test_containerd_store_adds_the_own_share_of_content_blobs():
    # Unpacked: S (shared, 100) + A (own, 10); the content store holds 55 bytes of blobs for the image.
    a = image('a', 'cw/a:1', layers=[('S', 100), ('A', 10)])
    b = image('b', 'cw/b:1', layers=[('S', 100), ('B', 40)])
    snap = snapshot(images=[a, b])
    a.content_size = 55
    plan = plan_for(snap, images='unused', keep_images=['cw/b:*'])
    assert planned(plan) == [a.id]
    assert item(plan, a.id).bytes == 10 + 55 * 10 // 110


def test_containerd_store_takes_the_own_part_from_an_image_of_exactly_the_shared_layers():
    """Docker 28.5, containerd store (the demo host): cw/tools:1.0 = the base's layer + 8,192 of its own. Removing
    it made LayersSize fall by 19,627; the share of content gave 15,479, the difference to the base 18,798."""
    base = image('base', 'registry.example.com/base/alpine-ish:3.17', layers=[('L0', 73728)])
    tools = image('tools', 'cw/tools:1.0', parent=base, layers=[('T', 8192)])
    base.content_size, base.unpacked_size = 62269, 73728
    tools.content_size, tools.unpacked_size = 72875, 81920
    plan = plan_for(snapshot(images=[base, tools]), images='unused', keep_images=['registry.example.com/*'],
                    protect_base_images=False)
    assert planned(plan) == [tools.id]
    assert item(plan, tools.id).bytes == (81920 - 73728) + (72875 - 62269)


def test_freed_bytes_credits_each_layer_once():
    a = image('a', 'cw/a:1', layers=[('S', 100), ('A', 10)])
    b = image('b', 'cw/b:1', layers=[('S', 100), ('B', 20)])
    c = image('c', 'cw/c:1', size=50, shared_size=0)
    snapshot(images=[a, b, c])
    both = freed_bytes([a, b, c], {a.id, b.id})
    assert sum(both.values()) == 130 and set(both) == {a.id, b.id}
    assert both[min(a.id, b.id)] >= 100
    assert freed_bytes([a, b, c], {a.id}) == {a.id: 10}
    assert freed_bytes([a, b, c], {c.id}) == {c.id: 50}
    assert freed_bytes([a, b, c], set()) == {}


def test_plan_is_the_same_whatever_the_listing_order():
    base, mid, top = _chain()
    lone = image('lone', 'cw/lone:1', size=3)
    records = [cache('r1', 1, last_used=NOW - 2 * DAY), cache('r2', 1, last_used=NOW - 2 * DAY)]
    first = plan_for(snapshot(images=[base, mid, top, lone], build_cache=records), images='unused',
                     build_cache='all')
    base, mid, top = _chain()
    lone = image('lone', 'cw/lone:1', size=3)
    second = plan_for(snapshot(images=[lone, top, mid, base], build_cache=records[::-1]), images='unused',
                      build_cache='all')
    assert first == second


# ---------------------------------------------------------------- budget and protection together
def test_budget_does_not_remove_the_base_image_of_a_kept_image():
    """The budget picks the least recently used candidates; the base of one it leaves must stay."""
    nginx = image('nginx', 'nginx:1.23', layers=[('N', 10 * GB)], created=NOW - 60 * DAY)
    app = image('app', 'cw/app:1', layers=[('A', 10 * GB)], created=NOW - 10 * DAY,
                labels={'base_image': 'nginx:1.23'})
    plan = plan_for(snapshot(images=[nginx, app]), images='unused', max_cache_size='15GB')
    removed = {entry.id for entry in plan.items if entry.action == 'remove'}
    assert not (nginx.id in removed and app.id not in removed), \
        'nginx:1.23 removed while cw/app:1, whose base_image label names it, stays: %r' % plan.items


def test_budget_does_not_untag_the_parent_of_a_kept_image():
    # LRU order: parent, other, child. The parent frees nothing alone, other meets the budget, child stays.
    parent = image('parent', 'cw/base:1', layers=[('P', 10 * GB)], created=NOW - 60 * DAY)
    other = image('other', 'cw/other:1', layers=[('O', 10 * GB)], created=NOW - 30 * DAY)
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 10 * GB)], created=NOW - 10 * DAY)
    plan = plan_for(snapshot(images=[parent, other, child]), images='unused', max_cache_size='25GB')
    assert other.id in planned(plan) and child.id not in planned(plan)
    assert [entry.action for entry in plan.items if entry.id == parent.id] != ['untag'], \
        'protect_base_images is on, yet the parent of the kept cw/app:1 is untagged: %r' % plan.items


def test_build_cache_budget_is_met_when_a_chosen_parent_must_stay():
    """A record dropped for its kept child must not count towards the budget."""
    parent = cache('parent', 10 * GB, last_used=NOW - 10 * DAY)
    child = cache('child', 1 * GB, in_use=True, parents=['parent'])
    other = cache('other', 10 * GB, last_used=NOW - 5 * DAY)
    snap = snapshot(build_cache=[parent, child, other])
    plan = plan_for(snap, build_cache='unused', max_cache_size='16GB')  # 21GB cached, 5GB to free
    assert plan.budget['bytes_to_free'] == 5 * GB
    assert plan.predicted_bytes >= 5 * GB, \
        'budget asks for 5GB; plan %r frees %d' % (planned(plan), plan.predicted_bytes)


# ---------------------------------------------------------------- safety rules of issue 13
def test_a_stopped_container_is_as_old_as_its_stop_not_its_creation():
    service = container('service', state='exited', created=NOW - 40 * DAY)
    service.finished = NOW - DAY  # ran for a month, stopped yesterday
    old_job = container('old-job', state='exited', created=NOW - 40 * DAY)
    old_job.finished = NOW - 20 * DAY
    never_ran = container('never-ran', state='created', created=NOW - 10 * DAY)
    plan = make_plan(snapshot(containers=[service, old_job, never_ran]), policy(containers=True, older_than='7d'))
    assert sorted(item.names[0] for item in plan.items) == ['never-ran', 'old-job']
    assert {entry['names'][0]: entry['reason'] for entry in plan.skipped} == {'service': 'newer than older_than'}


def test_keep_images_globs_match_digest_references():
    pulled = image('pulled')
    pulled.digests = ['127.0.0.1:5000/rb/pulled@sha256:' + 'a' * 64]
    other = image('other')
    other.digests = ['127.0.0.1:5000/rb/other@sha256:' + 'b' * 64]
    plan = make_plan(snapshot(images=[pulled, other]),
                     policy(images='unused', keep_images=['127.0.0.1:5000/rb/pulled@sha256:*']))
    assert [item.id for item in plan.items] == [other.id]
    assert [entry['reason'] for entry in plan.skipped] == ['keep_images: 127.0.0.1:5000/rb/pulled@sha256:*']
