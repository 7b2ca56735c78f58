# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engines of the scenario hold, through the docker CLI on each host (testinfra, connection ansible).

files/engine_listing.sh prints the listing; prepare.yml saved each host's listing before the role ran
(MOLECULE_EPHEMERAL_DIRECTORY/listings/HOST.txt), the tests take it again and compare.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Set, Tuple

import pytest

LISTING_SCRIPT = Path(__file__).resolve().parents[1] / 'files' / 'engine_listing.sh'
DANGLING = '<none>:<none>'
_TAKEN: Dict[str, 'Listing'] = {}


@dataclass(frozen=True)
class Container:
    """One container: its ID, status and the ID of the image it was created from."""

    id: str
    status: str
    image: str


@dataclass
class Listing:
    """Images (ID to tags, ID to parent ID), containers by name, volume names, network names, build cache IDs."""

    images: Dict[str, Set[str]] = field(default_factory=dict)
    parents: Dict[str, str] = field(default_factory=dict)
    containers: Dict[str, Container] = field(default_factory=dict)
    volumes: Set[str] = field(default_factory=set)
    networks: Set[str] = field(default_factory=set)
    build_cache: Set[str] = field(default_factory=set)

    def tags(self) -> FrozenSet[str]:
        """Every repository:tag on the engine."""
        return frozenset(tag for tags in self.images.values() for tag in tags)

    def untagged(self) -> FrozenSet[str]:
        """IDs of the images without a tag (dangling and intermediate)."""
        return frozenset(image for image, tags in self.images.items() if not tags)

    def ancestors(self, images: Iterable[str]) -> FrozenSet[str]:
        """The parents of ``images``, their parents, and so on."""
        found: Set[str] = set()
        pending = [self.parents.get(image, '') for image in images]
        while pending:
            image = pending.pop()
            if image and image not in found:
                found.add(image)
                pending.append(self.parents.get(image, ''))
        return frozenset(found)

    def image_of(self, tag: str) -> str:
        """ID of the image holding ``tag``."""
        return next(image for image, tags in self.images.items() if tag in tags)


def parse_listing(text: str) -> Listing:
    """Read the output of files/engine_listing.sh."""
    listing = Listing()
    for line in filter(str.strip, text.splitlines()):
        kind, *values = line.split()
        if kind == 'image':
            tags = listing.images.setdefault(values[0], set())
            if values[1] != DANGLING:
                tags.add(values[1])
        elif kind == 'parent':
            listing.parents[values[0]] = values[1] if len(values) > 1 else ''
        elif kind == 'container':
            listing.containers[values[1].lstrip('/')] = Container(values[0], values[2], values[3])
        elif kind == 'volume':
            listing.volumes.add(values[0])
        elif kind == 'network':
            listing.networks.add(values[1])
        elif kind == 'build_cache':
            listing.build_cache.add(values[0])
        else:
            raise AssertionError('unexpected listing line: %r' % line)
    return listing


def take_listing(host, name: str) -> Listing:
    """The listing of ``host`` (called ``name``) now, by running the listing script there; taken once per
    pytest run (the tests only read the engines)."""
    if name not in _TAKEN:
        result = host.run('sh -c %s', LISTING_SCRIPT.read_text(encoding='utf-8'))
        assert result.rc == 0, result.stderr
        _TAKEN[name] = parse_listing(result.stdout)
    return _TAKEN[name]


def saved_listing(name: str) -> Listing:
    """The listing prepare.yml saved for the host called ``name``."""
    folder = Path(os.environ['MOLECULE_EPHEMERAL_DIRECTORY']) / 'listings'
    return parse_listing((folder / ('%s.txt' % name)).read_text(encoding='utf-8'))


@pytest.fixture(name='hostname')
def hostname_fixture(host) -> str:
    """The inventory name of the host under test."""
    return host.backend.get_hostname()


@pytest.fixture(name='listings')
def listings_fixture(host, hostname: str) -> Tuple[Listing, Listing]:
    """(before the role, now) for the host under test."""
    return saved_listing(hostname), take_listing(host, hostname)
