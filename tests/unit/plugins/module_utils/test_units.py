# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""units.py: sizes, durations and percentages as users write them, sizes as the Docker CLI prints them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.cachewarden.docker.plugins.module_utils.units import (
    UnitError,
    human_size,
    parse_duration,
    parse_percent,
    parse_size,
)

KIB = 1024


@pytest.mark.parametrize('text, expected', [
    (0, 0),
    (1024, 1024),
    ('100', 100),
    ('100B', 100),
    ('7kb', 7000),
    (' 7 kB ', 7000),
    ('512m', 512 * 1000 ** 2),
    ('500MB', 500 * 1000 ** 2),
    ('20GB', 20 * 1000 ** 3),
    ('1.5GB', 1500 * 1000 ** 2),
    ('2T', 2 * 1000 ** 4),
    ('1p', 1000 ** 5),
    ('15GiB', 15 * KIB ** 3),
    ('4Ki', 4 * KIB),
    ('1.5MiB', 3 * KIB ** 2 // 2),
])
def test_parse_size_accepts_decimal_and_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize('bad', [
    True, False, -1, '', '   ', 'abc', 'GB', '10XB', '-5GB', '10iB', '1.5', '5 G B', '1e3', None, [20],
])
def test_parse_size_rejects_bad_input(bad):
    with pytest.raises(UnitError):
        parse_size(bad)


def test_unit_error_is_a_value_error():
    # Callers that only know ValueError (argument validation) still catch it.
    with pytest.raises(ValueError, match='20GB'):
        parse_size('twenty gigabytes')


@given(st.integers(min_value=0, max_value=10 ** 15))
def test_parse_size_of_a_plain_number_is_bytes(number):
    assert parse_size(number) == number
    assert parse_size(str(number)) == number
    assert parse_size('%dB' % number) == number


@given(st.integers(min_value=0, max_value=10 ** 6),
       st.sampled_from([('k', 1000), ('M', 1000 ** 2), ('G', 1000 ** 3), ('Ki', KIB), ('Mi', KIB ** 2), ('Gi', KIB ** 3)]))
def test_parse_size_multiplies_by_the_prefix(number, prefix):
    letters, factor = prefix
    assert parse_size('%d%sB' % (number, letters)) == number * factor


@pytest.mark.parametrize('text, expected', [
    (0, 0),
    (3600, 3600),
    ('3600', 3600),
    ('45s', 45),
    ('90m', 90 * 60),
    ('36h', 36 * 3600),
    ('7d', 7 * 86400),
    (' 7D ', 7 * 86400),
    ('2w', 14 * 86400),
    ('1d12h', 36 * 3600),
    ('1h 30m', 5400),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize('bad', [True, -1, '', 'abc', '7x', '7d junk', '1.5h', 'd7', '-3d', None])
def test_parse_duration_rejects_bad_input(bad):
    with pytest.raises(UnitError):
        parse_duration(bad)


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=999), st.sampled_from('smhdw')), min_size=1, max_size=5))
def test_parse_duration_adds_its_parts(parts):
    seconds = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}
    text = ''.join('%d%s' % part for part in parts)
    assert parse_duration(text) == sum(amount * seconds[unit] for amount, unit in parts)


@pytest.mark.parametrize('text, expected', [
    (85, 85.0), ('85', 85.0), ('85%', 85.0), (' 85.5 % ', 85.5), (0, 0.0), ('100%', 100.0), (99.9, 99.9),
])
def test_parse_percent(text, expected):
    assert parse_percent(text) == expected


@pytest.mark.parametrize('bad', [True, '101', 100.01, '-1', -0.5, 'abc', '', '%', None, 'nan%'])
def test_parse_percent_rejects_bad_input(bad):
    with pytest.raises(UnitError):
        parse_percent(bad)


@pytest.mark.parametrize('size, text', [
    (0, '0B'),
    (1, '1B'),
    (999, '999B'),
    (1000, '1kB'),
    (1234, '1.234kB'),
    (1985000, '1.985MB'),
    (2293000, '2.293MB'),
    (2292736, '2.293MB'),
    (1000 ** 2, '1MB'),
    (12345678, '12.35MB'),
    (72700000, '72.7MB'),
    (5 * 1000 ** 3, '5GB'),
    (1500 * 1000 ** 4, '1.5PB'),
])
def test_human_size_matches_the_docker_cli(size, text):
    assert human_size(size) == text


@given(st.integers(min_value=0, max_value=10 ** 17))
def test_human_size_reads_back_close_to_the_bytes(size):
    text = human_size(size)
    assert re.match(r'^\d+(\.\d+)?(B|kB|MB|GB|TB|PB)$', text), text
    number = re.match(r'^[\d.]+', text).group(0)
    assert len(number.replace('.', '').lstrip('0')) <= 4
    # Four significant digits: within 0.05 % of the true value once read back.
    assert abs(parse_size(text) - size) <= size * 0.0005 + 1
