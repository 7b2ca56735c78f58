# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the integration tests. One sandbox fleet for the whole integration run: real engines, real SSH.

h1 and h3: Debian's docker.io (20.10 on Debian 12), overlay2.
h2 and h4: Docker 28.5 from Debian sid, containerd image store.
h3 and h4 are seeded exactly like h1 and h2, for side-by-side comparisons with the CLI.
CW_TEST_ENGINES (sandbox engine names, comma-separated) replaces the engines: `make matrix` runs with
``26.1`` (Debian 13's docker.io), so h1/h3 have 26.1 with overlay2 and h2/h4 26.1 with the containerd store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Tuple

import docker

from sandbox import paths
from sandbox.fleet import Fleet, Host, docker_client
from sandbox.lifecycle import locked
from sandbox.seed import reset_host

REPO = paths.repo_root()
ENGINES = os.environ.get('CW_TEST_ENGINES') or 'stable,28.5'
STORES = 'overlay2,containerd'
HOSTS = 4


def sandbox_cli(*args: str) -> subprocess.CompletedProcess:
    """Run the sandbox tool from the repository root."""
    return subprocess.run([sys.executable, '-m', 'sandbox', *args], cwd=REPO, capture_output=True, text=True,
                          timeout=1200, check=False)


def pairs(fleet: Fleet) -> List[Dict[str, Host]]:
    """Per engine kind, a host under test and its identically seeded twin."""
    return [{'host': fleet.host('h1'), 'twin': fleet.host('h3')},
            {'host': fleet.host('h2'), 'twin': fleet.host('h4')}]


def reset(fleet: Fleet, *hosts: Host, seed: int = 1) -> None:
    """Wipe and reseed hosts, so a destructive test starts from the known scenario."""
    with locked():
        try:
            with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                list(pool.map(lambda host: reset_host(fleet.host(host.name), seed), hosts))
        finally:
            fleet.save()


def cli(host: Host, *args: str) -> str:
    """The host engine's own docker CLI, through the host's socket."""
    result = subprocess.run([host.cli, '--host', host.docker_host, *args], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, 'docker %s: %s' % (' '.join(args), result.stderr)
    return result.stdout


def cli_json_lines(host: Host, *args: str) -> List[dict]:
    """Run a CLI listing with --format '{{json .}}' and parse each line."""
    return [json.loads(line) for line in cli(host, *args, '--format', '{{json .}}').splitlines() if line.strip()]


def ssh(fleet: Fleet, host: Host, command: str) -> str:
    """Run a shell command on the sandbox host over SSH."""
    result = subprocess.run(['ssh', '-i', str(paths.ssh_key()), '-o', 'StrictHostKeyChecking=no', '-o',
                             'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
                             'root@%s' % host.address, command], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert fleet.hosts
    return result.stdout


def engine_listing(host: Host) -> Dict[str, List]:
    """Every object on the engine, for before/after comparisons (IDs, tags, states)."""
    client = docker_client(host)
    try:
        api = client.api
        build_cache = []
        for attempt in range(5):
            try:
                build_cache = sorted(r['ID'] for r in api.df().get('BuildCache') or [])
                break
            except docker.errors.NotFound:  # containerd store, right after a build (see snapshot.py)
                time.sleep(0.3 * (attempt + 1))
        return {
            'images': sorted((i['Id'], tuple(sorted(i.get('RepoTags') or []))) for i in api.images(all=True)),
            'containers': sorted((c['Id'], c['State']) for c in api.containers(all=True)),
            'volumes': sorted(v['Name'] for v in api.volumes().get('Volumes') or []),
            'networks': sorted(n['Id'] for n in api.networks()),
            'build_cache': build_cache,
        }
    finally:
        client.close()


def image_signatures(host: Host) -> List[Tuple]:
    """Images by what they are (tags, labels, build steps, layer count), comparable across identically
    seeded hosts: legacy-builder layers carry build-time file dates, so their digests differ between hosts."""
    client = docker_client(host)
    try:
        result = []
        for summary in client.api.images(all=True):
            inspect = client.api.inspect_image(summary['Id'])
            history = tuple(step.get('CreatedBy') or '' for step in client.api.history(summary['Id']))
            tags = tuple(sorted(t for t in summary.get('RepoTags') or [] if t != '<none>:<none>'))
            labels = tuple(sorted(((inspect.get('Config') or {}).get('Labels') or {}).items()))
            result.append((tags, labels, history, len((inspect.get('RootFS') or {}).get('Layers') or [])))
        return sorted(result)
    finally:
        client.close()
