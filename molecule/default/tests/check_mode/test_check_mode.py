# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After the role ran in check mode (molecule's `check` step): every engine holds exactly what it held before."""

from __future__ import annotations

testinfra_hosts = ['all']


def test_check_mode_changed_nothing(listings) -> None:
    """Images with their tags, containers with their status, volumes, networks and build cache: all as before."""
    before, now = listings
    assert before.images, 'the saved listing is empty: did prepare.yml run?'
    assert now == before
