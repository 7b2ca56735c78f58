#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin shell: read a snapshot of the engine and return it as ``ansible_facts.docker_cache``."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: docker_cache_facts
short_description: Gather facts about the Docker cache of a host
version_added: 0.1.0
description:
  - Reads the Docker engine once and returns C(ansible_facts.docker_cache), a summary of the host's
    Docker cache small enough for fact caches (a few KB).
  - The C(disk_usage) table holds the numbers C(docker system df) shows (TOTAL, ACTIVE, SIZE,
    RECLAIMABLE per type), computed by the same rules.
  - Also returns the engine's version, API version and image store, the filesystem holding the
    Docker root directory, image counts as C(docker images -a) and its filters list them, containers,
    volumes, networks, BuildKit build cache, and the base images named by C(base_image) labels.
  - Read-only; runs in check mode exactly as it runs otherwise.
author:
  - cachewarden maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cachewarden.docker.engine
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.facts
options:
  sizes:
    description:
      - Let the engine walk container writable layers and volumes to size them.
      - Set V(false) on big hosts where that walk is slow; container and volume sizes are then V(-1)
        in the detail and left out of sums.
      - Engines older than API 1.42 always walk them; the option then only has no effect.
    type: bool
    default: true
  detail:
    description:
      - Sections for which to return per-object lists under C(detail), largest first.
    type: list
    elements: str
    choices: [images, containers, volumes, networks, build_cache]
    default: []
  detail_limit:
    description:
      - At most this many objects per section of C(detail), so facts stay small enough for fact
        caches and AWX.
    type: int
    default: 100
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    support: full
    platforms: posix
  action_group:
    support: full
    membership:
      - cachewarden.docker.docker_cache
'''

EXAMPLES = r'''
- name: Gather Docker cache facts
  cachewarden.docker.docker_cache_facts:

- name: Gather facts on a big host without walking volumes and container layers
  cachewarden.docker.docker_cache_facts:
    sizes: false

- name: Include the 20 largest images and build cache records
  cachewarden.docker.docker_cache_facts:
    detail: [images, build_cache]
    detail_limit: 20

- name: Show what could be reclaimed
  ansible.builtin.debug:
    msg: "{{ ansible_facts.docker_cache.disk_usage.images.reclaimable_bytes | human_readable }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to the host's facts.
  returned: always
  type: dict
  contains:
    docker_cache:
      description: The host's Docker cache.
      returned: always
      type: dict
      contains:
        collected_at:
          description: When the engine was read (UTC, ISO 8601).
          type: str
          returned: always
          sample: '2026-11-28T23:00:00Z'
        sizes_computed:
          description:
            - Whether container and volume sizes were computed (see O(sizes)).
            - Engines older than API 1.42 always compute them.
          type: bool
          returned: always
        engine:
          description: The engine.
          type: dict
          returned: always
          contains:
            version:
              description: Docker Engine version.
              type: str
              returned: always
              sample: 20.10.24
            api_version:
              description: The negotiated API version.
              type: str
              returned: always
              sample: '1.41'
            image_store:
              description: V(containerd) for the containerd image store, otherwise the graphdriver name.
              type: str
              returned: always
              sample: overlay2
            storage_driver:
              description: The C(Driver) the engine reports.
              type: str
              returned: always
              sample: overlay2
            root_dir:
              description: DockerRootDir.
              type: str
              returned: always
              sample: /var/lib/docker
            os:
              description: Engine OS type.
              type: str
              returned: always
              sample: linux
            arch:
              description: Engine architecture.
              type: str
              returned: always
              sample: x86_64
        filesystem:
          description:
            - The filesystem holding the Docker root directory, as seen from the managed host.
            - V(null) when the engine is reached over TCP (its disk is not the managed host's).
          type: dict
          returned: always
          contains:
            path:
              description: The Docker root directory.
              type: str
              returned: when known
            size_bytes:
              description: Size of the filesystem.
              type: int
              returned: when known
            free_bytes:
              description: Bytes available to unprivileged users.
              type: int
              returned: when known
            used_bytes:
              description: Size minus free bytes.
              type: int
              returned: when known
            used_percent:
              description: Used share, 0 to 100.
              type: float
              returned: when known
        disk_usage:
          description:
            - The C(docker system df) table; keys C(images), C(containers), C(volumes), C(build_cache),
              each with C(total), C(active), C(size_bytes) and C(reclaimable_bytes).
          type: dict
          returned: always
          sample:
            images: {total: 12, active: 3, size_bytes: 734003200, reclaimable_bytes: 512000000}
        cache_bytes:
          description: Images plus build cache, the bytes budgets of docker_cache_prune count.
          type: int
          returned: always
        reclaimable_bytes:
          description: Sum of the RECLAIMABLE column.
          type: int
          returned: always
        images:
          description:
            - Image counts. C(total) as C(docker images -a) lists, C(dangling) as C(docker images -f dangling=true),
              C(intermediate) untagged parents of other images, C(in_use) used by a container in any state,
              C(unused) neither in use nor intermediate; bytes in C(size_bytes), C(unique_bytes) and C(shared_bytes).
          type: dict
          returned: always
        containers:
          description: Counts C(total), C(running), C(stopped) and C(size_bytes) of writable layers.
          type: dict
          returned: always
        volumes:
          description: Counts C(total), C(named), C(anonymous), C(in_use), C(unused) and C(size_bytes).
          type: dict
          returned: always
        networks:
          description: Counts C(total), C(builtin) and C(unused) (user-defined, no container attached).
          type: dict
          returned: always
        build_cache:
          description: BuildKit cache C(total), C(in_use), C(shared), C(size_bytes), C(by_type) and C(last_used).
          type: dict
          returned: always
        base_images:
          description: Images named by a C(base_image) label of a local image.
          type: list
          elements: dict
          returned: always
          contains:
            reference:
              description: The label's reference, normalized (C(docker.io/library/) removed, tag added).
              type: str
              returned: always
              sample: nginx:1.23
            present:
              description: Whether that image is present locally.
              type: bool
              returned: always
            image_id:
              description: ID of the present image, else V(null).
              type: str
              returned: always
            used_by:
              description: Images whose label names it.
              type: list
              elements: str
              returned: always
        detail:
          description: Per-object lists, largest first, bounded by O(detail_limit); C(truncated) counts what was left out.
          type: dict
          returned: when O(detail) is not empty
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import (
    connection_warnings, engine_argument_spec)
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.facts import DETAIL_SECTIONS, cache_facts
from ansible_collections.cachewarden.docker.plugins.module_utils.snapshot import read_snapshot


def argument_spec() -> dict:
    """Connection options plus what to read."""
    spec = engine_argument_spec()
    spec.update(
        sizes=dict(type='bool', default=True),
        detail=dict(type='list', elements='str', choices=list(DETAIL_SECTIONS), default=[]),
        detail_limit=dict(type='int', default=100),
    )
    return spec


def main() -> None:
    """Read the engine, build the facts, return them."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if module.params['detail_limit'] < 0:
        module.fail_json(msg='detail_limit must be 0 or more, got %r' % module.params['detail_limit'])
    for warning in connection_warnings(module.params):
        module.warn(warning)
    try:
        engine = Engine(module.params)
        snapshot = read_snapshot(engine, walk_sizes=module.params['sizes'])
    except EngineError as exc:
        module.fail_json(msg=str(exc))
    facts = cache_facts(snapshot, detail=module.params['detail'], detail_limit=module.params['detail_limit'])
    module.exit_json(changed=False, ansible_facts={'docker_cache': facts})


if __name__ == '__main__':
    main()
