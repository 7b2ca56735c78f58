# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""planner.py under random hosts and random policies: the safety rules hold for every plan.

The examples are derandomized so a red run replays exactly; each property checks what it
needs from the plan against facts computed here, independently of the planner's own code.
"""

from __future__ import annotations

import copy
import fnmatch
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cachewarden.docker.plugins.module_utils.facts import normalize_reference
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import (
    STOPPED_STATES, make_plan)
from ansible_collections.cachewarden.docker.plugins.module_utils.records import BUILTIN_NETWORKS, Filesystem
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, NOW, cache, container, filesystem, image, layer_sizes, network, policy, snapshot, volume)

PROPERTY_SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LAYER_POOL = {'L%d' % n: size for n, size in enumerate((5, 10, 20, 40, 80, 160, 320, 640))}
REPOSITORIES = ('cw/app', 'cw/api', 'nginx', 'registry.example.com/base/alpine')
TAG_NAMES = ('1', '2', 'latest')
ALL_TAGS = tuple('%s:%s' % (repo, name) for repo in REPOSITORIES for name in TAG_NAMES)
STATES = ('running', 'paused', 'restarting', 'created', 'exited', 'dead')
CACHE_TYPES = ('regular', 'internal', 'frontend', 'exec.cachemount', 'source.local')
KEEP_IMAGE_GLOBS = ('cw/app:*', 'nginx:*', 'registry.example.com/base/*', 'cw/api:1')
KEEP_LABEL_RULES = ('keep', 'tier=prod')
LABEL_CHOICES = ({}, {}, {'keep': 'yes'}, {'tier': 'prod'}, {'tier': 'dev'})


def build_host(rng):
    """(snapshot, last_used) for a random but consistent host; all detail comes from ``rng``."""
    n_images, n_volumes, n_networks = rng.randint(0, 8), rng.randint(0, 4), rng.randint(0, 3)
    n_containers, n_records = rng.randint(0, 5), rng.randint(0, 6)

    def labels():
        return dict(rng.choice(LABEL_CHOICES))

    def age():
        return NOW - rng.randint(0, 60) * DAY - 1

    # Distinct creation times, so "the newest N tags" is well defined.
    created = list(range(n_images))
    rng.shuffle(created)
    owners = [rng.randrange(-1, n_images) if n_images else -1 for _tag in ALL_TAGS]
    images = []
    for index in range(n_images):
        parent = images[rng.randrange(index)] if index and rng.random() < 0.5 else None
        tags = sorted(tag for tag, owner in zip(ALL_TAGS, owners) if owner == index)
        inherited_labels = dict(parent.labels) if parent is not None else {}
        for key, value in labels().items():
            inherited_labels.setdefault(key, value)  # labels are inherited; a child cannot drop a key
        if rng.random() < 0.4:
            inherited_labels['base_image'] = rng.choice(ALL_TAGS + ('docker.io/library/nginx:1', 'nginx'))
        detail = parent.layers is not None if parent is not None else rng.random() < 0.7
        options = dict(parent=parent, created=NOW - (created[index] * 3 + 1) * DAY, labels=inherited_labels,
                       last_tagged=age() if rng.random() < 0.3 else 0)
        if detail:
            held = {layer.chain_id for layer in parent.layers} if parent is not None else set()
            free = sorted(set(LAYER_POOL) - held)
            own = rng.sample(free, rng.randint(0, min(2, len(free))))
            images.append(image('img%d' % index, *tags, layers=[(chain, LAYER_POOL[chain]) for chain in own],
                                **options))
        else:
            size = rng.randint(0, 1000)
            shared = -1 if rng.random() < 0.3 else rng.randint(0, size)
            images.append(image('img%d' % index, *tags, size=size, shared_size=shared, **options))
    volumes = [volume('v%d' % n, anonymous=rng.random() < 0.5, size=rng.randint(-1, 100), created=age(),
                      labels=labels()) for n in range(n_volumes)]
    networks = [network(name, created=age(), labels=labels())
                for name in ('bridge', 'host', 'ingress') + tuple('n%d' % n for n in range(n_networks))]
    containers = [container('c%d' % n, rng.choice(images + [None]) if images else None,
                            state=rng.choice(STATES), created=age(),
                            volumes=[v.name for v in volumes if rng.random() < 0.4],
                            networks=[net.name for net in networks if rng.random() < 0.25],
                            labels=labels(), size_rw=rng.randint(-1, 50))
                  for n in range(n_containers)]
    records = []
    for n in range(n_records):
        parents = [r.id for r in records if rng.random() < 0.3]
        records.append(cache('bc%d' % n, rng.randint(0, 500), kind=rng.choice(CACHE_TYPES), last_used=age(),
                             created=NOW - 61 * DAY, in_use=rng.random() < 0.2, shared=rng.random() < 0.2,
                             parents=parents))
    fs = filesystem(10000, 100 * rng.randint(0, 100)) if rng.random() < 0.7 else None
    snap = snapshot(images=images, containers=containers, volumes=volumes, networks=networks,
                    build_cache=records, fs=fs)
    last_used = {img.id: age() for img in images if rng.random() < 0.5}
    return snap, last_used


class Host:
    """A generated host; its repr is the seed, so a falsifying example stays readable and replayable."""

    def __init__(self, seed):
        self.seed = seed
        self.snap, self.last_used = build_host(random.Random(seed))

    def __iter__(self):
        return iter((self.snap, self.last_used))

    def __getitem__(self, index):
        return (self.snap, self.last_used)[index]

    def __repr__(self):
        return 'Host(seed=%d)  # build_host(random.Random(%d))' % (self.seed, self.seed)


def hosts():
    """A seed fills in every detail: cheap to draw, evenly spread sizes, replayed exactly."""
    return st.integers(0, 2 ** 32 - 1).map(Host)


@st.composite
def policies(draw):
    options = {
        'containers': draw(st.booleans()),
        'images': draw(st.sampled_from(('unused', 'unused', 'dangling', 'none'))),
        'networks': draw(st.booleans()),
        'volumes': draw(st.sampled_from(('none', 'anonymous', 'all'))),
        'build_cache': draw(st.sampled_from(('none', 'unused', 'all'))),
        'older_than': draw(st.sampled_from((None, '1d', '7d', '30d'))),
        'age_basis': draw(st.sampled_from(('last_used', 'created'))),
        'keep_images': draw(st.lists(st.sampled_from(KEEP_IMAGE_GLOBS), unique=True, max_size=2)),
        'keep_labels': draw(st.lists(st.sampled_from(KEEP_LABEL_RULES), unique=True, max_size=2)),
        'keep_latest': draw(st.sampled_from((None, 1, 2))),
        'protect_base_images': draw(st.sampled_from((True, True, False))),
    }
    can_budget = options['images'] != 'none' or options['build_cache'] != 'none'
    budget = draw(st.sampled_from(('none', 'size', 'watermark'))) if can_budget else 'none'
    if budget == 'size':
        options['max_cache_size'] = draw(st.integers(0, 3000))
    elif budget == 'watermark':
        high = draw(st.integers(0, 100))
        options['high_watermark_percent'] = str(high)
        options['low_watermark_percent'] = str(draw(st.integers(0, high)))
    if options['build_cache'] != 'none' and draw(st.booleans()):
        options['build_cache_reserve'] = draw(st.integers(0, 1500))
    return policy(**options)


# ---------------------------------------------------------------- independent facts
def removed_ids(plan, kind, action='remove'):
    return {item.id for item in plan.items if item.type == kind and item.action == action}


def ancestors(img, by_id):
    seen = []
    parent = by_id.get(img.parent)
    while parent is not None and parent not in seen:
        seen.append(parent)
        parent = by_id.get(parent.parent)
    return seen


def newest_tag_protected(img, images, count):
    """True when one of the image's tags is among the ``count`` newest of its repository."""
    for tag in img.tags:
        repo = tag.rpartition(':')[0]
        newer = sum(1 for other in images if other.created > img.created
                    for other_tag in other.tags if other_tag.rpartition(':')[0] == repo)
        if newer < count:
            return True
    return False


def expected_image_bytes(images, removed):
    holders = {}
    for img in images:
        keys = ['own:' + img.id] if img.layers is None else [layer.chain_id for layer in img.layers]
        for key in keys:
            holders.setdefault(key, set()).add(img.id)
    sizes = layer_sizes(images)
    return sum(sizes[key] for key, owners in holders.items() if owners <= removed)


def host_after(snap, plan):
    """The host as it looks once the plan is carried out, with every derived field recomputed.

    Objects are copied (the builder reassigns, never mutates, their derived fields), so ``snap``
    stays as it was.
    """
    gone = {(item.type, item.id) for item in plan.items if item.action == 'remove'}
    untag = {item.id for item in plan.items if item.action == 'untag'}
    images = [copy.copy(img) for img in snap.images if ('image', img.id) not in gone]
    for img in images:
        if img.id in untag:
            img.tags = []
    freed = plan.predicted_bytes
    fs = snap.filesystem
    if fs is not None:
        fs = Filesystem(path=fs.path, size_bytes=fs.size_bytes, free_bytes=fs.free_bytes + freed,
                        used_bytes=fs.used_bytes - freed)
    return snapshot(
        images=images,
        containers=[copy.copy(c) for c in snap.containers if ('container', c.id) not in gone],
        volumes=[copy.copy(v) for v in snap.volumes if ('volume', v.name) not in gone],
        networks=[copy.copy(n) for n in snap.networks if ('network', n.id) not in gone],
        build_cache=[copy.copy(r) for r in snap.build_cache if ('build_cache', r.id) not in gone],
        fs=fs, taken_at=snap.taken_at)


def budget_freed(plan):
    return sum(item.bytes for item in plan.items if item.type in ('image', 'build_cache'))


# ---------------------------------------------------------------- properties
def check_nothing_in_use_is_planned(snap, last_used, pol):
    plan = make_plan(snap, pol, last_used)
    gone_containers = removed_ids(plan, 'container')
    states = {c.id: c.state for c in snap.containers}
    assert all(states[ident] in STOPPED_STATES for ident in gone_containers)
    remaining = [c for c in snap.containers if c.id not in gone_containers]
    by_id = snap.image_by_id()
    pinned = set()
    for ctr in remaining:
        if ctr.image_id in by_id:
            pinned.add(ctr.image_id)
            pinned.update(parent.id for parent in ancestors(by_id[ctr.image_id], by_id))
    touched_images = {item.id for item in plan.items if item.type == 'image'}
    assert not touched_images & pinned
    used_volumes = {name for ctr in remaining for name in ctr.volumes}
    assert not removed_ids(plan, 'volume') & used_volumes
    names = {net.id: net.name for net in snap.networks}
    attached = {name for ctr in remaining for name in ctr.networks}
    for ident in removed_ids(plan, 'network'):
        assert names[ident] not in attached and names[ident] not in BUILTIN_NETWORKS
    records = {r.id: r for r in snap.build_cache}
    gone_cache = removed_ids(plan, 'build_cache')
    for ident in gone_cache:
        assert not records[ident].in_use
        if pol.build_cache == 'unused':
            assert not records[ident].shared and records[ident].type not in ('internal', 'frontend')
    for record in snap.build_cache:  # a record only goes with everything built on it
        if set(record.parents) & gone_cache:
            assert record.id in gone_cache
    # Nothing outside the targets.
    assert not gone_containers or pol.containers
    assert not touched_images or pol.images != 'none'
    assert not removed_ids(plan, 'volume') or pol.volumes != 'none'
    assert not removed_ids(plan, 'network') or pol.networks
    assert not gone_cache or pol.build_cache != 'none'
    # Plan order: by type as `docker system prune` goes, and an image before the parents it builds on.
    order = ('container', 'image', 'volume', 'network', 'build_cache')
    kinds = [order.index(item.type) for item in plan.items]
    assert kinds == sorted(kinds)
    position = {item.id: index for index, item in enumerate(plan.items) if item.type == 'image'}
    for ident in position:
        for parent in ancestors(by_id[ident], by_id):
            assert position.get(parent.id, len(plan.items)) > position[ident]
    cache_position = {item.id: index for index, item in enumerate(plan.items) if item.type == 'build_cache'}
    for ident in cache_position:  # BuildKit frees a record only once nothing builds on it
        for parent in records[ident].parents:
            assert cache_position.get(parent, len(plan.items)) > cache_position[ident]
    if pol.images == 'dangling':
        assert not removed_ids(plan, 'image', 'untag')
        for ident in touched_images:
            assert not by_id[ident].tags


def check_nothing_kept_by_a_rule_is_planned(snap, last_used, pol):
    plan = make_plan(snap, pol, last_used)
    by_id = snap.image_by_id()
    for item in plan.items:
        if item.type == 'image':
            img = by_id[item.id]
            for pattern in pol.keep_images:
                assert not any(fnmatch.fnmatchcase(ref, pattern)
                               for tag in img.tags for ref in (tag, normalize_reference(tag))), (item, pattern)
            assert not pol.keeps_labels(img.labels), item
            if pol.keep_latest:
                assert not newest_tag_protected(img, snap.images, pol.keep_latest), item
    labels = {('container', c.id): c.labels for c in snap.containers}
    labels.update({('volume', v.name): v.labels for v in snap.volumes})
    labels.update({('network', n.id): n.labels for n in snap.networks})
    for item in plan.items:
        if item.type in ('container', 'volume', 'network'):
            assert not pol.keeps_labels(labels[(item.type, item.id)]), item
    if pol.protect_base_images:
        # Whatever stays keeps its parents and the image its base_image label names (an intermediate
        # image is a build step, not an image anyone runs: its label protects nothing).
        assert not removed_ids(plan, 'image', 'untag')
        removed = removed_ids(plan, 'image')
        by_ref = {normalize_reference(tag): img for img in snap.images for tag in img.tags}
        for img in snap.images:
            if img.id in removed:
                continue
            for parent in ancestors(img, by_id):
                assert parent.id not in removed, (img.tags, parent.tags)
            label = img.labels.get('base_image')
            base = by_ref.get(normalize_reference(label)) if label else None
            if base is not None and not img.intermediate:
                assert base.id not in removed, (img.tags, base.tags, plan.items)


@PROPERTY_SETTINGS
@given(hosts(), policies(), st.randoms(use_true_random=True))
def test_plans_are_deterministic(host, pol, rng):
    snap, last_used = host
    first = make_plan(snap, pol, last_used)
    assert make_plan(snap, pol, dict(last_used)) == first
    shuffled = copy.deepcopy(snap)
    for listing in (shuffled.images, shuffled.containers, shuffled.volumes, shuffled.networks, shuffled.build_cache):
        rng.shuffle(listing)
    for img in shuffled.images:
        rng.shuffle(img.children)
        rng.shuffle(img.containers)
    reordered = dict(sorted(last_used.items(), reverse=True))
    again = make_plan(shuffled, pol, reordered)
    assert [item.as_dict() for item in again.items] == [item.as_dict() for item in first.items]
    assert again.skipped == first.skipped
    assert (again.warnings, again.budget) == (first.warnings, first.budget)


def check_a_second_run_has_nothing_to_do(snap, last_used, pol):
    first = make_plan(snap, pol, last_used)
    after = host_after(snap, first)
    second = make_plan(after, pol, last_used)
    if pol.budgeted:
        need = first.budget.get('bytes_to_free', 0)
        met = budget_freed(first) >= need
        if any(entry['reason'] == 'budget met' for entry in first.skipped):
            # Candidates were left out because the budget was met: it must really be met.
            assert met, (need, budget_freed(first), first.items, first.skipped, snap.build_cache)
        if met:
            assert second.predicted_bytes == 0 and budget_freed(second) == 0, second.items
    assert [item.as_dict() for item in second.items] == [], (first.items, second.items)


def check_predicted_bytes(snap, last_used, pol):
    plan = make_plan(snap, pol, last_used)
    removed = removed_ids(plan, 'image')
    image_bytes = sum(item.bytes for item in plan.items if item.type == 'image')
    assert image_bytes == expected_image_bytes(snap.images, removed)
    # The same number seen from the other side: what the host's layer total loses.
    assert image_bytes == snap.layers_size - host_after(snap, plan).layers_size
    assert all(item.bytes == 0 for item in plan.items if item.action == 'untag')
    assert all(item.bytes >= 0 for item in plan.items)
    sizes = {('container', c.id): max(c.size_rw, 0) for c in snap.containers}
    sizes.update({('volume', v.name): max(v.size, 0) for v in snap.volumes})
    sizes.update({('build_cache', r.id): 0 if r.shared else r.size for r in snap.build_cache})
    for item in plan.items:
        if item.type not in ('image', 'network'):
            assert item.bytes == sizes[(item.type, item.id)]
    assert plan.predicted_bytes == sum(item.bytes for item in plan.items)
    assert plan.summary()['image']['bytes'] == image_bytes


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_nothing_in_use_is_planned(host, pol):
    """(1) Nothing a remaining container uses, and no active container, is ever planned."""
    check_nothing_in_use_is_planned(host[0], host[1], pol)


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_nothing_kept_by_a_rule_is_planned(host, pol):
    """(2) keep_images, keep_labels, keep_latest and base-image protection hold."""
    check_nothing_kept_by_a_rule_is_planned(host[0], host[1], pol)


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_a_second_run_has_nothing_to_do(host, pol):
    """(4) Carry the plan out, plan again with the same policy: nothing left to do."""
    check_a_second_run_has_nothing_to_do(host[0], host[1], pol)


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_predicted_bytes_are_the_layers_only_removed_images_hold(host, pol):
    """(5) Predicted bytes: the layers only removed images hold, each counted once."""
    check_predicted_bytes(host[0], host[1], pol)


@st.composite
def budget_policies(draw):
    """Budgets with base-image protection on: the combination where LRU choice meets protection."""
    images = draw(st.sampled_from(('unused', 'unused', 'dangling', 'none')))
    build_cache = draw(st.sampled_from(('unused', 'all', 'none') if images != 'none' else ('unused', 'all')))
    return policy(images=images, build_cache=build_cache, protect_base_images=True,
                  keep_images=draw(st.lists(st.sampled_from(KEEP_IMAGE_GLOBS), unique=True, max_size=1)),
                  max_cache_size=draw(st.integers(0, 1500)))


@PROPERTY_SETTINGS
@given(hosts(), budget_policies())
def test_budgets_respect_base_image_protection(host, pol):
    """(2) under budgets: what the budget leaves behind keeps its parents and base images."""
    check_nothing_kept_by_a_rule_is_planned(host[0], host[1], pol)


@PROPERTY_SETTINGS
@given(hosts(), budget_policies())
def test_budgets_are_met_before_anything_is_left_out(host, pol):
    """(4) under budgets: 'budget met' is only said when it is, and a second run frees nothing more."""
    check_a_second_run_has_nothing_to_do(host[0], host[1], pol)


def test_generated_hosts_cover_the_interesting_shapes():
    """Guard against a generator that silently stopped producing what the properties need."""
    seen = set()

    @settings(max_examples=200, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(hosts(), policies())
    def collect(host, pol):
        snap, last_used = host
        plan = make_plan(snap, pol, last_used)
        kinds = {item.type for item in plan.items}
        seen.update(kinds)
        if any(img.intermediate for img in snap.images):
            seen.add('intermediate')
        if any(item.action == 'untag' for item in plan.items):
            seen.add('untag')
        if any('untagged parent' in item.reason for item in plan.items):
            seen.add('cascade')
        if any('base image' in entry['reason'] for entry in plan.skipped):
            seen.add('base')
        if any(entry['reason'] == 'budget met' for entry in plan.skipped):
            seen.add('budget')
        if any(img.shared_size > 0 for img in snap.images if img.layers is not None):
            seen.add('shared layers')

    collect()  # pylint: disable=no-value-for-parameter
    assert seen >= {'container', 'image', 'volume', 'network', 'build_cache', 'intermediate', 'untag', 'cascade',
                    'base', 'budget', 'shared layers'}


def test_host_after_drops_and_untags():
    """The helper the idempotence property leans on."""
    parent = image('parent', 'cw/base:1', layers=[('P', 10)])
    child = image('child', 'cw/app:1', parent=parent, layers=[('C', 5)])
    snap = snapshot(images=[parent, child], fs=filesystem(1000, 500))
    plan = make_plan(snap, policy(images='unused', keep_images=['cw/app:*'], protect_base_images=False))
    after = host_after(snap, plan)
    assert [img.tags for img in after.images] == [[], ['cw/app:1']]
    assert after.images[0].intermediate and after.layers_size == snap.layers_size == 15
    plan = make_plan(snap, policy(images='unused'))
    after = host_after(snap, plan)
    assert after.images == [] and after.layers_size == 0 and after.filesystem.used_bytes == 485
    assert snap.images[0].tags == ['cw/base:1']  # the original is untouched
