# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""usage_state.py: the per-host last-used file survives every kind of bad file and is replaced atomically."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils import usage_state
from ansible_collections.cachewarden.docker.plugins.module_utils.usage_state import (
    FIRST_EVENTS_WINDOW, STATE_VERSION, empty_state, events_since, fold_in, load_state, save_state)
from ansible_collections.cachewarden.docker.tests.unit.plugins.module_utils.snapshot_builders import (
    DAY, HOUR, NOW, container, image, snapshot)


# ---------------------------------------------------------------- load
def test_missing_file_is_an_empty_state_without_warning(tmp_path):
    state, warning = load_state(str(tmp_path / 'nope' / 'last-used.json'))
    assert state == empty_state() == {'version': STATE_VERSION, 'events_until': 0, 'images': {}}
    assert warning is None


@pytest.mark.parametrize('content, why', [
    ('{not json', 'could not be read'),
    ('', 'could not be read'),
    ('\x00\x01garbage', 'could not be read'),
    ('[]', 'unknown layout'),
    ('"a string"', 'unknown layout'),
    ('{"version": 99, "events_until": 0, "images": {}}', 'unknown layout'),
    ('{"events_until": 0, "images": {}}', 'unknown layout'),
    ('{"version": 1, "events_until": 0, "images": []}', 'unknown layout'),
    ('{"version": 1, "events_until": 0}', 'unknown layout'),
    ('{"version": 1, "events_until": "abc", "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": [1], "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": {"a": 1}, "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": true, "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": -5, "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": NaN, "images": {}}', 'could not be read'),
    ('{"version": 1, "events_until": Infinity, "images": {}}', 'could not be read'),
    ('{"version": 1, "events_until": 1e400, "images": {}}', 'not a time'),
    ('{"version": 1, "events_until": 0, "images": {"sha256:a": -Infinity}}', 'could not be read'),
    ('{"version": 1, "events_until": 4102444800, "images": {}}', 'later than now'),
    ('[' * 100000 + ']' * 100000, 'could not be read'),
])
def test_bad_file_is_an_empty_state_with_a_warning_naming_it(tmp_path, content, why):
    path = tmp_path / 'last-used.json'
    path.write_text(content, encoding='utf-8')
    state, warning = load_state(str(path))
    assert state == empty_state()
    assert warning is not None and str(path) in warning and why in warning


def test_unreadable_path_warns(tmp_path):
    state, warning = load_state(str(tmp_path))  # a directory
    assert state == empty_state()
    assert warning is not None and str(tmp_path) in warning


def test_good_file_loads_and_drops_junk_entries(tmp_path):
    path = tmp_path / 'last-used.json'
    path.write_text(json.dumps({'version': 1, 'events_until': NOW - HOUR, 'images': {
        'sha256:a': NOW - DAY, 'sha256:b': float(NOW - 2 * DAY), 'sha256:c': 'yesterday', 'sha256:d': None}}))
    state, warning = load_state(str(path))
    assert warning is None
    assert state == {'version': 1, 'events_until': NOW - HOUR,
                     'images': {'sha256:a': NOW - DAY, 'sha256:b': NOW - 2 * DAY}}
    assert isinstance(state['images']['sha256:b'], int)


# ---------------------------------------------------------------- events window
def test_events_since():
    assert events_since(empty_state(), NOW) == NOW - FIRST_EVENTS_WINDOW
    assert events_since({'events_until': NOW - HOUR}, NOW) == NOW - HOUR
    assert events_since({}, NOW) == NOW - FIRST_EVENTS_WINDOW


# ---------------------------------------------------------------- fold_in
def _host(events=()):
    app = image('app', 'cw/app:1')
    old = image('old', 'cw/old:1')
    nginx = image('nginx', 'nginx:latest')
    idle = image('idle', 'cw/idle:1')
    containers = [
        container('web', app, state='running', created=NOW - 10 * DAY),
        container('batch', old, state='exited', created=NOW - 5 * DAY),
        container('paused', idle, state='paused', created=NOW - 20 * DAY),
    ]
    return snapshot(images=[app, old, nginx, idle], containers=containers, events=events), app, old, nginx, idle


def test_fold_in_records_containers():
    snap, app, old, _nginx, idle = _host()
    state = fold_in(empty_state(), snap)
    assert state['version'] == STATE_VERSION
    assert state['events_until'] == NOW
    assert state['images'] == {app.id: NOW, old.id: NOW - 5 * DAY, idle.id: NOW}


def test_a_snapshot_without_events_keeps_the_event_mark():
    """The snapshot after a prune reads no events: the next run must read this run's window again."""
    snap, _app, _old, _nginx, _idle = _host()
    snap.events, snap.events_until = [], None
    state = fold_in({'version': 1, 'events_until': NOW - DAY, 'images': {}}, snap)
    assert state['events_until'] == NOW - DAY


def test_save_syncs_file_and_folder_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(usage_state.os, 'fsync', lambda fd: synced.append(os.path.exists(str(tmp_path / 's.json')))
                        or real_fsync(fd))
    assert save_state(str(tmp_path / 's.json'), empty_state()) is None
    assert synced == [False, True]  # the temp file before the rename, the folder after it


def test_fold_in_keeps_the_newest_time_and_drops_images_that_are_gone():
    snap, app, old, nginx, idle = _host()
    before = {'version': 1, 'events_until': NOW - DAY,
              'images': {old.id: NOW - DAY, nginx.id: NOW - 3 * DAY, 'sha256:' + 'f' * 64: NOW - HOUR,
                         app.id: NOW + 10}}
    pristine = copy.deepcopy(before)
    state = fold_in(before, snap)
    assert before == pristine  # pure
    assert state['images'] == {old.id: NOW - DAY, nginx.id: NOW - 3 * DAY, app.id: NOW + 10, idle.id: NOW}


def test_fold_in_reads_events_by_tag_and_by_id():
    events = [
        ('cw/old:1', NOW - 2 * DAY),                       # by tag
        ('nginx', NOW - 3 * DAY),                          # short name means :latest
        ('unknown/image:9', NOW - HOUR),                   # not on the host: ignored
    ]
    snap, _app, old, nginx, _idle = _host(events)
    snap.containers = []
    state = fold_in(empty_state(), snap)
    assert state['images'] == {old.id: NOW - 2 * DAY, nginx.id: NOW - 3 * DAY}
    snap.events = [(old.id, NOW - DAY), (nginx.id.split(':', 1)[1], NOW - 4 * DAY), ('cw/old:1', NOW - 9 * DAY)]
    state = fold_in(empty_state(), snap)
    assert state['images'] == {old.id: NOW - DAY, nginx.id: NOW - 4 * DAY}


def test_fold_in_ignores_containers_whose_image_is_gone():
    snap = snapshot(images=[], containers=[container('ghost', None, state='running')])
    assert fold_in(empty_state(), snap)['images'] == {}


# ---------------------------------------------------------------- save
def _state():
    return {'version': 1, 'events_until': NOW, 'images': {'sha256:a': NOW - DAY}}


def test_save_then_load_round_trips_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / 'deep' / 'dir' / 'last-used.json'
    assert save_state(str(path), _state()) is None
    assert load_state(str(path)) == (_state(), None)
    assert os.listdir(str(path.parent)) == ['last-used.json']
    assert save_state(str(path), dict(_state(), events_until=NOW + 1)) is None
    assert load_state(str(path))[0]['events_until'] == NOW + 1
    assert os.listdir(str(path.parent)) == ['last-used.json']


def test_save_writes_a_temp_file_in_the_same_directory_then_renames(tmp_path, monkeypatch):
    path = tmp_path / 'last-used.json'
    path.write_text('old content')
    seen = []
    real_replace = os.replace

    def spy(source, target):
        # At rename time the old file is still whole and the new one is complete beside it.
        seen.append((os.path.dirname(source), json.loads(open(source, encoding='utf-8').read()),
                     open(target, encoding='utf-8').read()))
        real_replace(source, target)

    monkeypatch.setattr(usage_state.os, 'replace', spy)
    assert save_state(str(path), _state()) is None
    assert seen == [(str(tmp_path), _state(), 'old content')]
    assert json.loads(path.read_text()) == _state()


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / 'last-used.json'
    path.write_text('old content')

    def broken_dump(*_args, **_kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(usage_state.json, 'dump', broken_dump)
    warning = save_state(str(path), _state())
    assert warning is not None and str(path) in warning and 'No space left' in warning
    assert path.read_text() == 'old content'
    assert os.listdir(str(tmp_path)) == ['last-used.json']


def test_unwritable_location_is_a_warning_not_an_error(tmp_path):
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text('')
    path = blocker / 'last-used.json'  # its "directory" is a regular file: fails even as root
    warning = save_state(str(path), _state())
    assert warning is not None and str(path) in warning
    assert blocker.read_text() == ''
