# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deriving layer sizes from image sizes, and choosing the few histories to read."""

from __future__ import annotations

from ansible_collections.cachewarden.docker.plugins.module_utils.derived_layers import derive, history_to_read

# base (100) <- mid (30) <- a (5) / b (7); base <- c (11); solo: one layer of 40.
STACKS = {
    'a': (['base', 'base+mid', 'base+mid+a'], 135),
    'b': (['base', 'base+mid', 'base+mid+b'], 137),
    'c': (['base', 'base+c'], 111),
    'solo': (['solo'], 40),
    'empty': ([], 0),
}


def test_single_layer_and_empty_images_need_no_history():
    known = {}
    resolved = derive(STACKS, known)
    assert resolved == {'solo': [40], 'empty': []}
    assert known == {'solo': 40}


def test_one_history_per_stack_under_the_top_layer():
    assert history_to_read(STACKS, derive(STACKS, {})) == ['a', 'c']


def test_after_reading_the_chosen_histories_every_sibling_follows():
    known = {'base': 100, 'base+mid': 30, 'base+mid+a': 5, 'base+c': 11}  # from the histories of a and c
    resolved = derive({name: STACKS[name] for name in ('b',)}, known)
    assert resolved == {'b': [100, 30, 7]} and known['base+mid+b'] == 7


def test_a_known_base_resolves_images_one_layer_above_it_in_any_order():
    stacks = {'z-top': (['base', 'base+x', 'base+x+y'], 160), 'a-mid': (['base', 'base+x'], 150)}
    known = {'base': 100}
    assert derive(stacks, known) == {'a-mid': [100, 50], 'z-top': [100, 50, 10]}


def test_totals_that_disagree_with_known_sizes_leave_the_image_to_its_history():
    known = {'base': 100}
    stacks = {'odd': (['base', 'base+odd'], 90)}
    assert derive(stacks, known) == {}
    assert history_to_read(stacks, {}) == ['odd'] and 'base+odd' not in known


def test_an_unknown_total_is_never_used():
    assert derive({'x': (['base', 'base+x'], -1)}, {'base': 10}) == {}


def test_nothing_to_read_once_everything_is_resolved():
    resolved = {'a': [], 'b': [], 'c': [], 'solo': [], 'empty': []}
    assert history_to_read(STACKS, resolved) == []
