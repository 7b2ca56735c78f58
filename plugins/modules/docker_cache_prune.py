#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin shell: validate the policy, snapshot the engine, plan, apply (unless check mode), report."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: docker_cache_prune
short_description: Apply a Docker cache policy to a host, with an exact plan first
version_added: 0.1.0
description:
  - Reads the engine once, makes a plan (each item with its type, ID, names, the bytes it frees and the
    rule that selected it), then carries the plan out.
  - In check mode the plan is the result and nothing changes on the host, not even the last-used state file.
  - RV(ignore:changed) is true exactly when something was removed (in check mode, would be), so a second
    run of the same policy reports unchanged.
  - Nothing a container uses, running or stopped, is ever removed. Removal never forces; an object that a
    container started using after the plan was made is reported in RV(skipped_items).
  - With O(max_cache_size) or O(high_watermark_percent), images and then build cache are removed in
    least-recently-used order, only as far as needed.
  - On the containerd image store, where several images share layers that no image ends at, the module exports the
    smallest of them once (C(GET /images/{id}/get), what C(docker save) streams, at most 2 GiB of image content a
    run) to read the sizes of its layers' blobs, which the API gives nowhere else; the sizes are kept in
    O(state_path) by image ID, so a later run reads them from there.
author:
  - cachewarden maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cachewarden.docker.engine
  - cachewarden.docker.policy
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
options:
  lock_timeout:
    description:
      - How long to wait for another run on the same engine to finish (a duration such as V(90s), V(10m)).
      - Runs on one engine take turns through a lock file beside O(state_path), named after the engine's ID, so a
        cron job and an AWX job that start together neither free the same budget twice nor count an item twice.
        When the wait runs out the module fails, naming the process that holds the lock, and changes nothing.
      - Check mode waits for a running prune too (its plan would be stale), but creates no file.
    type: str
    default: 10m
  sizes:
    description:
      - Also let the engine walk container writable layers and volumes when neither is a target, so that
        the returned facts carry their sizes as M(cachewarden.docker.docker_cache_facts) with O(cachewarden.docker.docker_cache_facts#module:sizes=true)
        does. That walk is slow on big hosts.
      - When O(containers) is set or O(volumes) is not V(none), they are always sized (their bytes are part
        of the plan), and engines older than API 1.42 always walk them.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the usage per type before and after (predicted in check mode).
  platform:
    support: full
    platforms: posix
  action_group:
    support: full
    membership:
      - cachewarden.docker.docker_cache
seealso:
  - module: cachewarden.docker.docker_cache_facts
'''

EXAMPLES = r'''
- name: What would a nightly cleanup remove? (nothing changes)
  cachewarden.docker.docker_cache_prune:
    containers: true
    images: dangling
    build_cache: unused
    older_than: 7d
  check_mode: true
  register: would

- name: CI runner - keep the cache under 20GB, least recently used images first
  cachewarden.docker.docker_cache_prune:
    images: unused
    build_cache: all
    max_cache_size: 20GB
    keep_images:
      - "registry.example.com/base/*"
    keep_latest: 2
    max_deletions: 500

- name: App server - act only when the Docker disk is over 85 %, down to 70 %
  cachewarden.docker.docker_cache_prune:
    images: unused
    high_watermark_percent: 85
    low_watermark_percent: 70
    keep_labels:
      - com.example.keep
    protect_base_images: true

- name: Stopped containers and their anonymous volumes older than two weeks
  cachewarden.docker.docker_cache_prune:
    containers: true
    volumes: anonymous
    older_than: 2w
'''

RETURN = r'''
msg:
  description:
    - One line for people, sizes in the decimal units C(docker system df) prints, for example
      C(would remove 4 items, 16.93 kB would be freed) in check mode or C(removed 4 items, 16.93 kB freed (16.93 kB
      predicted)); the reason of the failure when the module fails.
  returned: always
  type: str
plan:
  description: Every item the plan removes (in check mode, would remove), in removal order.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: V(container), V(image), V(volume), V(network) or V(build_cache).
      type: str
      returned: always
    id:
      description: Full ID (name for volumes).
      type: str
      returned: always
    names:
      description: Tags, container names, volume or network name, build cache description.
      type: list
      elements: str
      returned: always
    bytes:
      description: Bytes removing it frees; a layer shared by several removed images is counted once.
      type: int
      returned: always
    reason:
      description: The rule that selected it.
      type: str
      returned: always
    action:
      description: V(remove), or V(untag) for a tagged image other kept images build on.
      type: str
      returned: always
removed:
  description: The items removed, same shape as RV(plan). Empty in check mode.
  returned: always
  type: list
  elements: dict
skipped_items:
  description:
    - Objects a target named but that stay, each with C(type), C(id), C(names) and C(reason) (a keep rule,
      too young, base image of a kept image, budget met, in use since the plan was made, ...).
    - Named C(skipped_items) because Ansible reads a true C(skipped) key as "the task was skipped".
    - At most 200 entries; RV(skipped_total) gives the full count.
  returned: always
  type: list
  elements: dict
kept_by_rule:
  description:
    - "What the policy's own rules keep, per rule (V(older_than), V(keep_images: GLOB), V(keep_labels: KEY),
      V(keep_latest), V(protect_base_images), V(build_cache_reserve), V(budget met), V(in use by containers),
      V(shared with a kept image)), each with C(count) objects and their C(bytes) (an image's own bytes, a build
      cache record's size unless an image holds it). The fleet report names these rules when a host stays over
      its budget."
  returned: always
  type: dict
skipped_total:
  description: Number of skipped objects.
  returned: always
  type: int
predicted_bytes:
  description: Bytes the plan predicts to free.
  returned: always
  type: int
reclaimed_bytes:
  description:
    - Bytes freed as the engine measures them (its disk usage before minus after). 0 in check mode.
  returned: always
  type: int
may_release:
  description:
    - "Shared build cache records that the images of the plan may set free, with their C(bytes): the engine
      does not say which image holds them (a build stage's steps on the containerd store, records of one size
      on stores that list no record parents; see docs/prune.md). They are not in C(plan) nor in
      C(predicted_bytes). A run removes those that the removed images did set free, in C(removed) with a reason
      saying so, when the policy's build cache rules select them."
  returned: always
  type: list
  elements: dict
cache_blob_bytes:
  description:
    - "Containerd image store only: of the build cache's C(reclaimed_bytes), the compressed layer blobs that
      pruned records kept after the image that exported them went. The engine counts them in the record's size
      but not among image layers, so C(docker system df) falls by the records' snapshots twice and by these
      once. Measured as the records' sizes less the fall of the engine's C(LayersSize) around their prune.
      0 on other stores and in check mode."
  returned: always
  type: int
released_image_bytes:
  description:
    - "Of the image C(reclaimed_bytes), those freed by build cache records the run removed outside the plan
      (C(removed) items whose reason says they were released by the images the run removed, such as records
      check mode listed in RV(may_release)): the engine counts a record an image held among image layers, so
      they are not in C(predicted_bytes). On the containerd image store the fall of the engine's C(LayersSize)
      around their prune (their snapshots; their blobs left with the images' content), elsewhere their sizes.
      0 in check mode."
  returned: always
  type: int
summary:
  description: Per type C(planned), C(removed), C(skipped) counts and C(predicted_bytes), C(reclaimed_bytes).
  returned: always
  type: dict
not_done:
  description:
    - Plan items neither confirmed removed nor skipped because the run stopped early (the engine went away,
      or another prune kept it busy through every retry). Same shape as RV(plan). Removals run several at a
      time, so an item whose request was under way when the engine went away may be gone all the same.
      A rerun with the same policy plans those still there and finishes the plan.
  returned: when the plan was carried out
  type: list
  elements: dict
budget:
  description: For budgets and watermarks, the cache size, filesystem use and bytes the budget asked to free.
  returned: when O(max_cache_size) or O(high_watermark_percent) is set
  type: dict
errors:
  description: Failures that did not stop the run (an object the engine refused for another reason).
  returned: always
  type: list
  elements: str
policy:
  description: The validated policy, sizes in bytes and durations in seconds.
  returned: always
  type: dict
docker_cache_before:
  description:
    - The C(docker_cache) facts as the engine was before this run (as M(cachewarden.docker.docker_cache_facts)
      returns them), so that one call gives both sides of a cleanup.
  returned: when the engine could be read
  type: dict
ansible_facts:
  description:
    - The refreshed C(docker_cache) facts (as M(cachewarden.docker.docker_cache_facts) returns them), after the
      run; in check mode, the engine as it is.
  returned: success
  type: dict
  contains:
    docker_cache:
      description: See cachewarden.docker.docker_cache_facts.
      type: dict
      returned: success
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import (
    connection_warnings, engine_argument_spec)
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import (
    POLICY_ARGUMENT_SPEC, PolicyError, validate_policy)
from ansible_collections.cachewarden.docker.plugins.module_utils.prune_run import run_prune
from ansible_collections.cachewarden.docker.plugins.module_utils.units import UnitError, parse_duration


def argument_spec() -> dict:
    """Connection options plus the policy."""
    spec = engine_argument_spec()
    spec.update({name: dict(option) for name, option in POLICY_ARGUMENT_SPEC.items()})
    spec['sizes'] = dict(type='bool', default=False)
    spec['lock_timeout'] = dict(type='str', default='10m')
    return spec


def main() -> None:
    """Validate, then lock, snapshot, plan, apply, report (module_utils.prune_run)."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        policy = validate_policy(module.params)
        lock_timeout = parse_duration(module.params['lock_timeout'])
    except PolicyError as exc:
        module.fail_json(msg=str(exc))
    except UnitError as exc:
        module.fail_json(msg='lock_timeout=%r: %s' % (module.params['lock_timeout'], exc))
    for warning in connection_warnings(module.params):
        module.warn(warning)
    try:
        engine = Engine(module.params)
    except EngineError as exc:
        module.fail_json(msg=str(exc))
    run = run_prune(engine, policy, module.check_mode, sizes=module.params['sizes'], lock_timeout=lock_timeout)
    for warning in run.warnings:
        module.warn(warning)
    if run.failed:
        module.fail_json(**dict(run.result, msg=run.failed))
    module.exit_json(**run.result)


if __name__ == '__main__':
    main()
