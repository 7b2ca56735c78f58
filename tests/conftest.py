# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable as ``ansible_collections.cachewarden.docker`` for every test.

`make collection` builds the same symlink farm; this keeps a bare ``pytest`` working too.
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

from sandbox import paths

REPO = paths.repo_root()
COLLECTIONS = paths.collections_dir()
LINK = COLLECTIONS / 'ansible_collections' / 'cachewarden' / 'docker'


def _ensure_collection_link() -> None:
    if LINK.is_symlink() and LINK.resolve() == REPO:
        return
    LINK.parent.mkdir(parents=True, exist_ok=True)
    if LINK.is_symlink() or LINK.exists():
        LINK.unlink()
    LINK.symlink_to(REPO, target_is_directory=True)


_ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# CI runs a fixed set of examples so a red build can be reproduced; locally hypothesis explores.
settings.register_profile('ci', derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile('dev', deadline=None)
settings.load_profile('ci' if os.environ.get('CI') else 'dev')
