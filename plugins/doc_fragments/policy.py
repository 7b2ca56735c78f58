# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prune policy options (paired with policy.POLICY_ARGUMENT_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the prune policy options."""

    DOCUMENTATION = r'''
options:
  containers:
    description:
      - Remove stopped containers (states C(created), C(exited), C(dead)).
      - Images, volumes and networks that only these containers used become removable in the same run,
        as with C(docker system prune).
    type: bool
    default: false
  images:
    description:
      - V(none) removes no image.
      - V(dangling) removes untagged images no other image builds on (C(docker image prune)).
      - V(unused) removes every image no container uses (C(docker image prune -a)). A tagged image that
        other kept images build on is only untagged, as the engine does.
      - Untagged parents of removed images go with them.
    type: str
    choices: [none, dangling, unused]
    default: none
  networks:
    description:
      - Remove user-defined networks no container is attached to.
      - C(bridge), C(host), C(none), C(ingress) and C(docker_gwbridge) are never removed.
    type: bool
    default: false
  volumes:
    description:
      - V(none) never removes a volume.
      - V(anonymous) removes unused anonymous volumes of the C(local) driver, as C(docker volume prune) on
        Docker 23 and later does, which means those the engine labels C(com.docker.volume.anonymous) (API 1.42 and later).
        Older engines label nothing; there a C(local) volume with a 64-hex name and no labels counts as anonymous.
      - V(all) removes unused named volumes too (C(docker volume prune -a)). Volumes hold data, not cache.
    type: str
    choices: [none, anonymous, all]
    default: none
  build_cache:
    description:
      - V(none) keeps the BuildKit cache.
      - V(unused) removes records no build uses, leaving shared, internal and frontend records (C(docker builder prune)).
      - V(all) removes every record no build uses (C(docker builder prune -a)).
    type: str
    choices: [none, unused, all]
    default: none
  older_than:
    description:
      - Only remove objects older than this duration, like V(90m), V(36h), V(7d), V(2w) or V(1d12h).
      - Age is measured from the time given by O(age_basis) for images and build cache, and from
        creation for volumes and networks.
      - A stopped container's age counts from when it stopped (C(State.FinishedAt)), so a service stopped
        yesterday after running for a month is one day old; a container that never ran counts from its creation.
    type: str
  age_basis:
    description:
      - V(last_used) ages images by the newest of their recorded last use (see O(state_path)), last
        container use, last tag and creation; build cache by its last use.
      - V(created) ages everything by creation time, like the CLI's C(until) filter.
    type: str
    choices: [last_used, created]
    default: last_used
  keep_images:
    description:
      - Reference globs of images that always stay, like V(nginx:*) or V(registry.example.com/base/*).
      - A glob matches an image when it matches any of its tags or digest references (C(repo@sha256:...), what an
        image pulled by digest carries), as listed or with the C(docker.io/library/) prefix removed. V(nginx:*)
        matches tags only; V(registry.example.com/base/*) and V(nginx@sha256:*) match digest references too.
    type: list
    elements: str
    default: []
  keep_labels:
    description:
      - Labels that protect images, containers, volumes and networks carrying them, as V(key) (any value)
        or V(key=value).
    type: list
    elements: str
    default: []
  keep_latest:
    description:
      - Keep the images holding the newest N tags of every repository (by image creation time).
    type: int
  protect_base_images:
    description:
      - Keep the images that kept images name in their C(base_image) label, and the parents of kept images.
    type: bool
    default: true
  max_cache_size:
    description:
      - Keep images plus build cache under this size, like V(20GB) (decimal) or V(15GiB) (binary).
      - When over it, remove least-recently-used removable images, then build cache, until under it.
        Below it, no image or build cache record is removed.
      - Needs O(images) or O(build_cache) to name what may be removed.
    type: str
  high_watermark_percent:
    description:
      - When the filesystem holding the Docker root directory is used above this percentage, remove
        least-recently-used removable images, then build cache, until it is at or under O(low_watermark_percent).
      - Below the high mark no image or build cache record is removed. Needs a local engine.
    type: str
  low_watermark_percent:
    description:
      - Where watermark-driven removal stops. Defaults to O(high_watermark_percent). Must not be above it.
    type: str
  build_cache_reserve:
    description:
      - Keep at least this much build cache, removing least-recently-used records only above it.
      - The plan keeps it by naming the records that go; it is not passed to the engine as C(keep-storage) or
        C(reserved-space), which BuildKit applies in its own order and counting records images share.
    type: str
  max_deletions:
    description:
      - Fail before removing anything when the plan holds more items than this, returning the plan.
      - A guard against a policy typo wiping a host.
    type: int
  state_path:
    description:
      - Absolute path of a file on the managed host that records when each image was last seen in use, for
        least-recently-used ordering, and what the per-image engine reads found (layers and their sizes, keyed by
        image ID, which names the image's content), so that the next run reads only images it has not seen.
        Updated on every run except in check mode, written atomically; a few hundred bytes per image.
      - A missing, corrupt or unwritable file only gives a warning; ordering then falls back to container
        use, tag and creation times, and every image is read from the engine.
    type: path
    default: /var/lib/cachewarden/last-used.json
'''
