# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The randomized differential harness: random caches from a seed (sandbox/randomcache.py) x policies, on real
engines, checked against oracles the project did not write: the engine's own GET /system/df before and after,
the full object listing, a second run, and the Docker CLI pruning a twin host seeded the same way.

Which seeds run: CW_RANDOM_SEEDS (comma list; `make soak SEEDS=N` sets it), else DEFAULT_SEEDS. A failure names
the seed, the host (engine and store) and the policy, and `python -m sandbox reset HOST --scenario random --seed N`
makes the same cache again.
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from typing import Any, Dict, List, Optional, Set, Tuple

from ansible_cli import run_module
from fleet_helpers import cli, engine_listing

from sandbox.fleet import Fleet, Host, docker_client
from sandbox.lifecycle import locked
from sandbox.randomcache import KEEP_LABEL
from sandbox.seed import reset_host

MODULE = 'cachewarden.docker.docker_cache_prune'
# make test: two seeds per store (about 3 minutes a seed and store on 2 cores); make soak runs more.
DEFAULT_SEEDS = (101, 102)
RELEASED = 'released by the images this run removed'
# Policies the Docker CLI can express too: the twin host runs these commands instead.
CLI_POLICIES: List[Tuple[Dict[str, Any], List[List[str]]]] = [
    ({'images': 'dangling', 'protect_base_images': False}, [['image', 'prune', '--force']]),
    ({'containers': True, 'images': 'unused', 'networks': True, 'protect_base_images': False},
     [['container', 'prune', '--force'], ['network', 'prune', '--force'], ['image', 'prune', '--all', '--force']]),
]
POLICIES: List[Dict[str, Any]] = [policy for policy, _commands in CLI_POLICIES] + [
    {'containers': True, 'images': 'unused', 'networks': True, 'build_cache': 'unused'},
    {'images': 'unused', 'build_cache': 'all', 'keep_images': ['rnd/*:1.*'], 'keep_labels': [KEEP_LABEL]},
    {'containers': True, 'images': 'unused', 'keep_latest': 1, 'volumes': 'anonymous'},
    {'images': 'unused', 'build_cache': 'all', 'max_cache_size': '1MB'},
    {'images': 'unused', 'older_than': '30d', 'age_basis': 'created', 'build_cache': 'unused'},
    {'build_cache': 'all', 'build_cache_reserve': '300kB'},
    {'containers': True, 'volumes': 'all', 'networks': True, 'keep_labels': [KEEP_LABEL]},
]


def seeds() -> List[int]:
    """The seeds of this run."""
    raw = os.environ.get('CW_RANDOM_SEEDS', '')
    return [int(seed) for seed in raw.split(',') if seed.strip()] or list(DEFAULT_SEEDS)


def case_id(policy: Dict[str, Any]) -> str:
    """A short readable name of a policy for test IDs."""
    return ','.join('%s=%s' % (key, value) for key, value in sorted(policy.items()))


def seed_hosts(fleet: Fleet, seed: int, *hosts: Host) -> None:
    """Wipe the hosts and make the random cache of ``seed`` on each."""
    with locked():
        try:
            for host in hosts:
                reset_host(fleet.host(host.name), seed, 'random')
        finally:
            fleet.save()


def df_rows(host: Host) -> Tuple[Dict[str, int], Dict[str, Tuple[int, bool]]]:
    """The engine's own accounting (GET /system/df): image layers, writable layers, volumes, build cache not
    shared with images; and every build cache record as ID -> (size, shared)."""
    client = docker_client(host)
    try:
        df = client.api.df()
    finally:
        client.close()
    records = {item['ID']: (item['Size'], bool(item.get('Shared'))) for item in df.get('BuildCache') or []}
    return ({'image': df.get('LayersSize') or 0,
             'container': sum(item.get('SizeRw') or 0 for item in df.get('Containers') or []),
             'volume': sum(max((item.get('UsageData') or {}).get('Size') or 0, 0) for item in df.get('Volumes') or []),
             'build_cache': sum(size for size, shared in records.values() if not shared)}, records)


def protected(host: Host, policy: Dict[str, Any]) -> Tuple[Set[Tuple[str, str]], Dict[str, str]]:
    """(type, id) of what the policy must never remove (images matched by keep_images, objects carrying a keep
    label), and the image of each container (an image stays while a container that stays uses it)."""
    client = docker_client(host)
    try:
        api = client.api
        keep = set()
        images_of = {}
        labels = [rule.split('=', 1)[0] for rule in policy.get('keep_labels', [])]
        for container in api.containers(all=True):
            images_of[container['Id']] = container['ImageID']
            if any(label in (container.get('Labels') or {}) for label in labels):
                keep.add(('container', container['Id']))
        for image in api.images(all=True):
            names = image.get('RepoTags') or []
            if any(fnmatch.fnmatchcase(name, glob) for name in names for glob in policy.get('keep_images', [])) \
                    or any(label in (image.get('Labels') or {}) for label in labels):
                keep.add(('image', image['Id']))
        for volume in api.volumes().get('Volumes') or []:
            if any(label in (volume.get('Labels') or {}) for label in labels):
                keep.add(('volume', volume['Name']))
        for network in api.networks():
            if any(label in (network.get('Labels') or {}) for label in labels):
                keep.add(('network', network['Id']))
        return keep, images_of
    finally:
        client.close()


def objects(listing: Dict[str, List]) -> Set[Tuple[str, str]]:
    """(type, id) of everything in an engine_listing."""
    return ({('image', i) for i, _tags in listing['images']} | {('container', c) for c, _state in listing['containers']}
            | {('volume', v) for v in listing['volumes']} | {('network', n) for n in listing['networks']}
            | {('build_cache', b) for b in listing['build_cache']})


def run_case(inventory: str, host: Host, policy: Dict[str, Any]) -> Dict[str, Any]:
    """Check mode, the real run and a second run of ``policy`` on ``host`` (seeded just before), with the oracles'
    readings around them; returns everything the assertions need."""
    args = dict(policy, state_path='/tmp/cw-state-%s.json' % uuid.uuid4().hex)
    listing = engine_listing(host)
    keep, images_of = protected(host, policy)
    check = run_module(inventory, host.name, MODULE, args, check=True)[host.name]
    listing_after_check = engine_listing(host)
    df_before, records_before = df_rows(host)
    real = run_module(inventory, host.name, MODULE, args)[host.name]
    df_after, records_after = df_rows(host)
    after = engine_listing(host)
    again = run_module(inventory, host.name, MODULE, args)[host.name]
    staying = {container for container, _state in after['containers']}
    keep |= {('image', image) for container, image in images_of.items() if container in staying}
    return {'listing': listing, 'listing_after_check': listing_after_check, 'after': after, 'keep': keep,
            'check': check, 'real': real, 'again': again,
            'df_fall': sum(df_before.values()) - sum(df_after.values()), 'records_before': records_before,
            'rw_fall': df_before['container'] - df_after['container'],
            # records images held before the run that are free now and still there: the engine counts them
            # under build cache now, the module where they were counted before (docs/prune.md)
            'released_kept': sum(size for record, (size, shared) in records_after.items()
                                 if not shared and records_before.get(record, (0, False))[1])}


def describe(seed: int, host: Host, policy: Dict[str, Any], extra: Optional[str] = None) -> str:
    """How to make this case again, for assertion messages."""
    return 'seed %d, host %s (%s, %s), policy %s%s: python -m sandbox reset %s --scenario random --seed %d' % (
        seed, host.name, host.engine, host.store, case_id(policy), (' - ' + extra) if extra else '', host.name, seed)


def twin_structure(twin: Host, commands: List[List[str]]) -> Dict[str, Any]:
    """Prune the twin with the Docker CLI; what is left, by names (IDs differ between twins)."""
    for command in commands:
        cli(twin, *command)
    return names_left(twin)


def names_left(host: Host) -> Dict[str, Any]:
    """Tags, container names, network names and image count: what twins seeded alike share."""
    client = docker_client(host)
    try:
        api = client.api
        images = api.images(all=True)
        return {'tags': sorted(t for image in images for t in image.get('RepoTags') or [] if t != '<none>:<none>'),
                'containers': sorted(c['Names'][0] for c in api.containers(all=True)),
                'networks': sorted(n['Name'] for n in api.networks()),
                'images': len(images)}
    finally:
        client.close()


def _ids(items: List[Dict[str, Any]]) -> Set[Tuple[str, str, str]]:
    return {(item['type'], item['id'], item.get('action', 'remove')) for item in items}


def _close(predicted: int, reclaimed: int, share: float) -> bool:
    return abs(predicted - reclaimed) <= share * max(abs(predicted), abs(reclaimed)) + 1024


def check_case(fleet: Fleet, inventory: str, host: Host, twin: Host, seed: int, policy: Dict[str, Any]) -> None:
    """Every promise on one random cache: see the module docstring and docs/prune.md."""
    commands = next((commands for cli_policy, commands in CLI_POLICIES if cli_policy == policy), None)
    seed_hosts(fleet, seed, *([host, twin] if commands else [host]))
    case = run_case(inventory, host, policy)
    check, real, again = case['check'], case['real'], case['again']
    where = describe(seed, host, policy)
    for result in (check, real, again):
        assert not result.get('failed'), '%s: %s' % (where, result.get('msg'))
    # Check mode changes nothing, provably.
    assert case['listing_after_check'] == case['listing'], 'check mode changed the engine: ' + where
    # The run removes exactly the plan, build cache records the images that went set free included: the run's
    # second look at the build cache (released_cache) finds nothing the plan did not hold.
    released = [item for item in real['removed'] if item['reason'].startswith(RELEASED)]
    planned_removed = [item for item in real['removed'] if item not in released]
    assert _ids(planned_removed) == _ids(check['plan']), 'plan != removed: ' + where
    shared = {record for record, (_size, was_shared) in case['records_before'].items() if was_shared}
    assert {item['id'] for item in released} <= shared, 'a released record was not shared before: ' + where
    # Records the engine gives no link for (docs/prune.md) check mode lists apart, as records that may go.
    unlisted = [item for item in released if item['id'] not in {entry['id'] for entry in check['may_release']}]
    assert not unlisted, 'every released record is in the plan or its may_release list (%s): %s' % (
        [(item['id'][:12], item['names'], item['bytes']) for item in unlisted], where)
    assert real['errors'] == [] and real['not_done'] == [], where
    # Nothing outside the plan went, and nothing protected.
    gone = objects(case['listing']) - objects(case['after'])
    removed = {(item['type'], item['id']) for item in real['removed'] if item['action'] == 'remove'}
    assert gone == removed, 'gone %s, removed %s: %s' % (sorted(gone - removed), sorted(removed - gone), where)
    assert not gone & case['keep'], 'a protected object went: %s: %s' % (sorted(gone & case['keep']), where)
    # Bytes: measured by the engine, and the prediction agrees with the measurement.
    assert _agrees_with_df(host, real, case), 'reclaimed %d, engine df fell %d (records set free and kept %d): %s' % (
        real['reclaimed_bytes'], case['df_fall'], case['released_kept'], where)
    summary = real['summary']
    # Records released outside the plan (listed as may go) free their layers among image layers when they go: the
    # run measures those bytes (released_image_bytes; on graphdriver stores their sizes, each record is its layer).
    assert released or real['released_image_bytes'] == 0, where
    assert host.store == 'containerd' or real['released_image_bytes'] == sum(item['bytes'] for item in released), where
    for kind in ('container', 'image', 'volume', 'build_cache'):
        reclaimed = summary[kind]['reclaimed_bytes'] - (real['released_image_bytes'] if kind == 'image' else 0)
        assert _close(check['summary'][kind]['predicted_bytes'], reclaimed, 0.01), \
            '%s predicted %d, reclaimed %d (%d of it by records released outside the plan): %s' % (
                kind, check['summary'][kind]['predicted_bytes'], summary[kind]['reclaimed_bytes'],
                real['released_image_bytes'] if kind == 'image' else 0, where)
        if not summary[kind]['removed']:
            assert summary[kind]['reclaimed_bytes'] == 0, '%s: no removal, bytes reclaimed: %s' % (kind, where)
    # Converged: a second run with the same policy finds nothing.
    assert again['changed'] is False and again['plan'] == [], 'second run: %s: %s' % (
        [(item['type'], item['names'][:1], item['reason']) for item in again['plan']], where)
    if commands:
        ours, theirs = names_left(host), twin_structure(twin, commands)
        # Deliberate difference: `docker image prune -a` (20.10) removes the tags of an image a container uses
        # that no container was created by, and of the parents of images in use (the images stay); the module
        # never touches an image in use or what one builds on, tags included.
        in_use = _tags_in_use(host)
        extra = set(ours['tags']) - set(theirs['tags'])
        if extra <= in_use:
            ours['tags'] = sorted(set(ours['tags']) - extra)
        assert ours == theirs, 'the CLI on the twin left other objects (%s): %s' % (
            {key: (sorted(set(ours[key]) ^ set(theirs[key])) if isinstance(ours[key], list) else (ours[key], theirs[key]))
             for key in ours if ours[key] != theirs[key]}, where)


def _agrees_with_df(host: Host, real: Dict[str, Any], case: Dict[str, Any]) -> bool:
    """The module's reclaimed bytes against the fall of the engine's own df, with the engine's double counts:

    - a record an image held before and that stays is counted by the engine under build cache after, while the
      module counts its layer as still there (on graphdriver stores each distinct layer once: records carrying
      the same layer count once, so the module's figure lies between the two);
    - on the containerd store the engine counts BuildKit's snapshots among image layers and under build cache,
      so a build cache prune makes its df fall twice by them; the module counts them once (the blobs that records
      no image held kept, ``cache_blob_bytes``, the engine counts under build cache alone);
    - on the containerd store from API 1.47 (where the module reads the images' unpacked sizes) the engine counts
      a container's writable snapshot among image layers and as SizeRw; the module counts the snapshot once.
    """
    reclaimed, fall, kept = real['reclaimed_bytes'], case['df_fall'], case['released_kept']
    if host.store == 'containerd':
        twice = real['summary']['build_cache']['reclaimed_bytes'] - real['cache_blob_bytes']
        if tuple(int(part) for part in real['docker_cache_before']['engine']['api_version'].split('.')) >= (1, 47):
            twice += case['rw_fall']
        return _close(reclaimed + twice - kept, fall, 0.02)
    return _close(reclaimed, fall, 0.02) or fall - 1024 <= reclaimed <= fall + kept + 1024


def _tags_in_use(host: Host) -> Set[str]:
    """Tags of images that containers use, and of the images those build on."""
    client = docker_client(host)
    try:
        images = {image['Id']: image for image in client.api.images(all=True)}
        tags: Set[str] = set()
        for container in client.api.containers(all=True):
            image_id = container['ImageID']
            while image_id in images:
                tags.update(images[image_id].get('RepoTags') or [])
                image_id = images[image_id].get('ParentId') or ''
        return tags
    finally:
        client.close()
