# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the integration tests. One sandbox fleet for the whole integration run: real engines, real SSH.

h1 and h3: Debian's docker.io (20.10 on Debian 12), overlay2.
h2 and h4: Docker 28.5 from Debian sid, containerd image store.
h3 and h4 are seeded exactly like h1 and h2, for side-by-side comparisons with the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from sandbox import paths
from sandbox.fleet import Fleet, Host
from sandbox.lifecycle import locked
from sandbox.seed import reset_host

REPO = Path(__file__).resolve().parents[2]
ENGINES = 'stable,28.5'
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
            for host in hosts:
                reset_host(fleet.host(host.name), seed)
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
