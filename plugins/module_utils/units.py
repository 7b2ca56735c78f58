# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse and format the units users write in policies: sizes, durations, percentages."""

from __future__ import annotations

import re

_SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)(i?)([bB]?)\s*$')
_SIZE_POWERS = {'': 0, 'k': 1, 'm': 2, 'g': 3, 't': 4, 'p': 5}

_DURATION_RE = re.compile(r'(\d+)\s*(s|m|h|d|w)')
_DURATION_SECONDS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}

_HUMAN_UNITS = ('B', 'kB', 'MB', 'GB', 'TB', 'PB')


class UnitError(ValueError):
    """A value that cannot be read as the unit it should carry."""


def parse_size(value: object) -> int:
    """Return bytes for ``20GB`` (decimal), ``15GiB`` (binary), ``512m`` or a plain integer.

    Like Docker's own flags, a bare ``k``/``m``/``g`` suffix is decimal and the ``i``
    marks powers of 1024.
    """
    if isinstance(value, bool):
        raise UnitError('a size must be a number of bytes or a string like 20GB, got %r' % (value,))
    if isinstance(value, int):
        if value < 0:
            raise UnitError('a size cannot be negative, got %r' % (value,))
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise UnitError('expected a size like 500MB, 20GB or 15GiB, got %r' % (value,))
    number, prefix, binary, unit = match.groups()
    if binary and not prefix:
        raise UnitError('expected a size like 500MB, 20GB or 15GiB, got %r' % (value,))
    if not unit and not prefix and '.' in number:
        raise UnitError('a size in bytes must be a whole number, got %r' % (value,))
    base = 1024 if binary else 1000
    return int(float(number) * base ** _SIZE_POWERS[prefix.lower()])


def parse_duration(value: object) -> int:
    """Return seconds for ``90m``, ``36h``, ``7d``, ``2w``, ``1d12h`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise UnitError('a duration must be a string like 7d or 36h, got %r' % (value,))
    if isinstance(value, int):
        if value < 0:
            raise UnitError('a duration cannot be negative, got %r' % (value,))
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    parts = _DURATION_RE.findall(text)
    if not text or not parts or _DURATION_RE.sub('', text).strip():
        raise UnitError('expected a duration like 90m, 36h, 7d or 2w, got %r' % (value,))
    return sum(int(amount) * _DURATION_SECONDS[unit] for amount, unit in parts)


def parse_percent(value: object) -> float:
    """Return a percentage in [0, 100] from ``85``, ``85%`` or ``85.5``."""
    if isinstance(value, bool):
        raise UnitError('expected a percentage between 0 and 100, got %r' % (value,))
    text = str(value).strip().rstrip('%').strip()
    try:
        number = float(text)
    except ValueError:
        raise UnitError('expected a percentage between 0 and 100, got %r' % (value,)) from None
    if not 0 <= number <= 100:
        raise UnitError('expected a percentage between 0 and 100, got %r' % (value,))
    return number


def human_size(size: float, digits: int = 4, sep: str = '') -> str:
    """Format bytes the way the Docker CLI does (decimal units, four significant digits by default).

    Reports ask for fewer digits and a space (``1.23 GB``).
    """
    number = float(size)
    index = 0
    while number >= 1000 and index < len(_HUMAN_UNITS) - 1:
        number /= 1000.0
        index += 1
    # Python's %g and Go's %g agree: four significant digits, trailing zeros dropped.
    text = '%.*g' % (digits, number)
    if 'e' in text and index < len(_HUMAN_UNITS) - 1:  # 999.6 kB with 3 digits rounds up to 1 MB
        number /= 1000.0
        index += 1
        text = '%.*g' % (digits, number)
    return '%s%s%s' % (text, sep, _HUMAN_UNITS[index])
