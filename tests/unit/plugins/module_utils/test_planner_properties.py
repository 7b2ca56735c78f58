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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cachewarden.docker.plugins.module_utils.facts import normalize_reference
from ansible_collections.cachewarden.docker.plugins.module_utils.planner import (
    RESERVED_NETWORKS, STOPPED_STATES, make_plan)
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import Filesystem
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
LABEL_CHOICES = st.sampled_from([{}, {}, {'keep': 'yes'}, {'tier': 'prod'}, {'tier': 'dev'}])
AGES = st.integers(0, 60).map(lambda days: NOW - days * DAY - 1)


@st.composite
def hosts(draw):
    """(snapshot, last_used) for a random but consistent host."""
    count = draw(st.integers(0, 8))
    # Distinct creation times: "the newest N tags" is then well defined.
    created = draw(st.permutations(range(count))) if count else []
    owners = draw(st.lists(st.one_of(st.none(), st.integers(0, max(count - 1, 0))),
                           min_size=len(ALL_TAGS), max_size=len(ALL_TAGS)))
    images = []
    for index in range(count):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        parent_image = images[parent] if parent is not None else None
        tags = sorted(tag for tag, owner in zip(ALL_TAGS, owners) if owner == index and count)
        labels = dict(parent_image.labels) if parent_image is not None else {}
        for key, value in draw(LABEL_CHOICES).items():
            labels.setdefault(key, value)  # labels are inherited; a child cannot drop a key
        if draw(st.booleans()):
            labels['base_image'] = draw(st.sampled_from(ALL_TAGS + ('docker.io/library/nginx:1', 'nginx')))
        detail = parent_image.layers is not None if parent_image is not None else draw(st.booleans())
        when = NOW - (created[index] * 3 + 1) * DAY
        tagged_at = draw(st.one_of(st.just(0), AGES))
        if detail:
            inherited = {layer.chain_id for layer in parent_image.layers} if parent_image is not None else set()
            own = draw(st.lists(st.sampled_from(sorted(set(LAYER_POOL) - inherited)), max_size=2, unique=True))
            images.append(image('img%d' % index, *tags, parent=parent_image,
                                layers=[(chain, LAYER_POOL[chain]) for chain in own],
                                created=when, labels=labels, last_tagged=tagged_at))
        else:
            size = draw(st.integers(0, 1000))
            shared = draw(st.one_of(st.just(-1), st.integers(0, size)))
            images.append(image('img%d' % index, *tags, parent=parent_image, size=size, shared_size=shared,
                                created=when, labels=labels, last_tagged=tagged_at))
    volumes = [volume('v%d' % n, anonymous=draw(st.booleans()), size=draw(st.integers(-1, 100)),
                      created=draw(AGES), labels=draw(LABEL_CHOICES)) for n in range(draw(st.integers(0, 4)))]
    networks = [network(name, created=draw(AGES), labels=draw(LABEL_CHOICES))
                for name in ('bridge', 'host', 'ingress') + tuple('n%d' % n for n in range(draw(st.integers(0, 3))))]
    containers = []
    for n in range(draw(st.integers(0, 5))):
        used = draw(st.one_of(st.none(), st.sampled_from(images))) if images else None
        containers.append(container(
            'c%d' % n, used, state=draw(st.sampled_from(STATES)), created=draw(AGES),
            volumes=draw(st.lists(st.sampled_from([v.name for v in volumes]), unique=True)) if volumes else (),
            networks=draw(st.lists(st.sampled_from([net.name for net in networks]), unique=True, max_size=2)),
            labels=draw(LABEL_CHOICES), size_rw=draw(st.integers(-1, 50))))
    records = []
    for n in range(draw(st.integers(0, 6))):
        parents = draw(st.lists(st.sampled_from([r.id for r in records]), unique=True, max_size=2)) if records else []
        records.append(cache('bc%d' % n, draw(st.integers(0, 500)), kind=draw(st.sampled_from(CACHE_TYPES)),
                             last_used=draw(AGES), created=NOW - 61 * DAY, in_use=draw(st.integers(0, 4)) == 0,
                             shared=draw(st.integers(0, 4)) == 0, parents=parents))
    fs = draw(st.one_of(st.none(), st.integers(0, 100).map(lambda used: filesystem(10000, 100 * used))))
    snap = snapshot(images=images, containers=containers, volumes=volumes, networks=networks,
                    build_cache=records, fs=fs)
    last_used = {img.id: draw(AGES) for img in images if draw(st.booleans())}
    return snap, last_used


@st.composite
def policies(draw):
    options = {
        'containers': draw(st.booleans()),
        'images': draw(st.sampled_from(('none', 'dangling', 'unused'))),
        'networks': draw(st.booleans()),
        'volumes': draw(st.sampled_from(('none', 'anonymous', 'all'))),
        'build_cache': draw(st.sampled_from(('none', 'unused', 'all'))),
        'older_than': draw(st.sampled_from((None, '1d', '7d', '30d'))),
        'age_basis': draw(st.sampled_from(('last_used', 'created'))),
        'keep_images': draw(st.lists(st.sampled_from(KEEP_IMAGE_GLOBS), unique=True, max_size=2)),
        'keep_labels': draw(st.lists(st.sampled_from(KEEP_LABEL_RULES), unique=True, max_size=2)),
        'keep_latest': draw(st.sampled_from((None, 1, 2))),
        'protect_base_images': draw(st.booleans()),
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
    """The host as it looks once the plan is carried out, with every derived field recomputed."""
    snap = copy.deepcopy(snap)
    gone = {(item.type, item.id) for item in plan.items if item.action == 'remove'}
    untag = {item.id for item in plan.items if item.action == 'untag'}
    images = [img for img in snap.images if ('image', img.id) not in gone]
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
        containers=[c for c in snap.containers if ('container', c.id) not in gone],
        volumes=[v for v in snap.volumes if ('volume', v.name) not in gone],
        networks=[n for n in snap.networks if ('network', n.id) not in gone],
        build_cache=[r for r in snap.build_cache if ('build_cache', r.id) not in gone],
        fs=fs, taken_at=snap.taken_at)


def budget_freed(plan):
    return sum(item.bytes for item in plan.items if item.type in ('image', 'build_cache'))


# ---------------------------------------------------------------- properties
@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_nothing_in_use_is_planned(host, pol):
    snap, last_used = host
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
        assert names[ident] not in attached and names[ident] not in RESERVED_NETWORKS
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
    if pol.images == 'dangling':
        assert not removed_ids(plan, 'image', 'untag')
        for ident in touched_images:
            assert not by_id[ident].tags


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_nothing_kept_by_a_rule_is_planned(host, pol):
    snap, last_used = host
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
        # Whatever stays keeps its parents and the image its base_image label names.
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
            if base is not None:
                assert base.id not in removed, (img.tags, base.tags, plan.items)


@PROPERTY_SETTINGS
@given(hosts(), policies(), st.randoms(use_true_random=False))
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


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_a_second_run_has_nothing_to_do(host, pol):
    snap, last_used = host
    first = make_plan(snap, pol, last_used)
    after = host_after(snap, first)
    second = make_plan(after, pol, last_used)
    if pol.budgeted:
        need = first.budget.get('bytes_to_free', 0)
        met = budget_freed(first) >= need
        if any(entry['reason'] == 'budget met' for entry in first.skipped):
            # Candidates were left out because the budget was met: it must really be met.
            assert met, (need, budget_freed(first), first.items)
        if met:
            assert second.predicted_bytes == 0 and budget_freed(second) == 0, second.items
    assert [item.as_dict() for item in second.items] == [], (first.items, second.items)


@PROPERTY_SETTINGS
@given(hosts(), policies())
def test_predicted_bytes_are_the_layers_only_removed_images_hold(host, pol):
    snap, last_used = host
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
