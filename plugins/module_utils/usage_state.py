# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host state file: when each image was last seen in use, and what the per-image reads found.

Docker records no "last used" time for images. Each run folds in what it can see (containers
that exist now, container create/start events since the previous run) so least-recently-used
ordering improves as a schedule runs. The per-image detail (layers and their sizes, see
image_detail.py) spares the next run those reads. The file is JSON (a few hundred bytes per
image), and replaced atomically.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from typing import Any, Dict, Optional, Tuple

from ansible_collections.cachewarden.docker.plugins.module_utils.image_detail import DETAIL_KEY, to_state
from ansible_collections.cachewarden.docker.plugins.module_utils.records import Snapshot

STATE_VERSION = 1
FIRST_EVENTS_WINDOW = 7 * 86400  # how far back the first run reads events


def empty_state() -> Dict[str, Any]:
    """A state with nothing recorded yet."""
    return {'version': STATE_VERSION, 'events_until': 0, 'images': {}}


def _reject_constant(name: str) -> None:
    raise ValueError('%s is not a time' % name)


def _seconds(value: Any) -> Optional[int]:
    """A non-negative whole number of seconds, or None for anything else (bools, NaN, strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        return None
    try:
        return int(value)
    except (OverflowError, ValueError):
        return None


def _rewrite(path: str, why: str) -> str:
    return 'last-used state %s %s; ordering falls back to container use, tag and creation times, and the file ' \
           'will be rewritten' % (path, why)


def load_state(path: str, now: Optional[int] = None) -> Tuple[Dict[str, Any], Optional[str]]:
    """The stored state and a warning when it could not be used (missing is not a warning).

    Anything but the expected layout and types (wrong types, NaN, Infinity, a time in the future)
    gives a fresh state and a warning, never an exception.
    """
    now = int(time.time()) if now is None else now
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            data = json.load(handle, parse_constant=_reject_constant)
    except FileNotFoundError:
        return empty_state(), None
    except (OSError, ValueError, RecursionError) as exc:
        return empty_state(), _rewrite(path, 'could not be read (%s)' % exc)
    if not isinstance(data, dict) or data.get('version') != STATE_VERSION or not isinstance(data.get('images'), dict):
        return empty_state(), _rewrite(path, 'has an unknown layout')
    events_until = _seconds(data.get('events_until') or 0)
    if events_until is None:
        return empty_state(), _rewrite(path, 'has events_until=%r, not a time' % (data.get('events_until'),))
    if events_until > now:
        return empty_state(), _rewrite(path, 'was written at a time later than now (%d > %d: the clock was set '
                                             'back?)' % (events_until, now))
    images = {}
    for image_id, seen in data['images'].items():
        when = _seconds(seen)
        if when is not None:  # an entry that is not a time is dropped alone
            images[str(image_id)] = min(when, now)  # event times come from the engine's clock
    loaded = {'version': STATE_VERSION, 'events_until': events_until, 'images': images}
    if DETAIL_KEY in data:  # parsed where it is used (image_detail.from_state)
        loaded[DETAIL_KEY] = data[DETAIL_KEY]
    return loaded, None


def events_since(state: Dict[str, Any], now: int) -> int:
    """Where the next event read should start."""
    return int(state.get('events_until') or 0) or now - FIRST_EVENTS_WINDOW


def fold_in(state: Dict[str, Any], snapshot: Snapshot, with_detail: bool = True) -> Dict[str, Any]:
    """A new state with what the snapshot shows: container use, events and the per-image detail it read
    (the state's own is kept when the snapshot read none, or ``with_detail`` is false: a fold that is not saved
    need not write the detail out). Pure."""
    by_ref: Dict[str, str] = {}
    for image in snapshot.images:
        by_ref[image.id] = image.id
        by_ref[image.id.split(':', 1)[-1]] = image.id
        for tag in image.tags:
            by_ref[tag] = image.id
    present = {image.id for image in snapshot.images}
    last_used = {image_id: seen for image_id, seen in state.get('images', {}).items() if image_id in present}

    def touch(image_id: Optional[str], when: int) -> None:
        if image_id and when > last_used.get(image_id, 0):
            last_used[image_id] = when

    for container in snapshot.containers:
        touch(container.image_id, snapshot.taken_at if container.active else container.created)
    for reference, when in snapshot.events:
        touch(by_ref.get(reference) or by_ref.get(reference + ':latest'), when)
    # Events were read up to the snapshot's time only when it read events; a snapshot without (the one
    # after a prune) keeps the old mark, so the next run reads the events of this run's window again.
    until = snapshot.events_until if snapshot.events_until is not None else state.get('events_until', 0)
    folded = {'version': STATE_VERSION, 'events_until': until, 'images': last_used}
    detail = to_state(snapshot.image_detail) if with_detail and snapshot.image_detail is not None \
        else state.get(DETAIL_KEY)
    if detail is not None:
        folded[DETAIL_KEY] = detail
    return folded


def save_state(path: str, state: Dict[str, Any]) -> Optional[str]:
    """Write the state atomically (temp file + rename); a warning instead of a failure when it cannot."""
    directory = os.path.dirname(path) or '.'
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        handle, temp_path = tempfile.mkstemp(prefix='.last-used.', dir=directory)
        try:
            with os.fdopen(handle, 'w', encoding='utf-8') as stream:
                json.dump(state, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp_path, path)
            _fsync_directory(directory)
        except BaseException:
            os.unlink(temp_path)
            raise
    except OSError as exc:
        return 'last-used state %s could not be written (%s); ordering will rely on container use, tag and ' \
               'creation times' % (path, exc)
    return None


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (a crash right after it must not bring the old file back)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
