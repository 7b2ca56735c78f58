# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cachewarden.docker.awx_configure checks its settings before it talks to AWX, then talks to CONTROLLER_HOST.

No AWX runs here: the last test points CONTROLLER_HOST at a local HTTP server that refuses every request, and
expects the first awx.awx module to have asked it, which shows the settings passed and the connection comes from
the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List

from sandbox import paths

REPO = paths.repo_root()
BIN = Path(sys.executable).parent
VALID = {
    'cachewarden_awx_project_url': 'https://git.example.invalid/ops/cachewarden-docker.git',
    'cachewarden_awx_ee_image': 'registry.example.invalid/cachewarden/ee:0.1.0',
    'cachewarden_awx_machine_credential': 'Docker hosts SSH',
}


class _Refuse(BaseHTTPRequestHandler):
    """Answers every request 401 and records its path in the server's ``seen`` list."""

    def _refuse(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        body = b'{"detail": "refused by the test"}'
        self.send_response(401)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _refuse

    def log_message(self, format: str, *args: object) -> None:  # pylint: disable=redefined-builtin
        """Quiet."""


def _configure(extra_vars: Dict[str, str], controller_host: str = 'http://127.0.0.1:9') -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(('CONTROLLER_', 'TOWER_'))}
    env.update({'CONTROLLER_HOST': controller_host, 'CONTROLLER_USERNAME': 'admin', 'CONTROLLER_PASSWORD': 'unused',
                'ANSIBLE_COLLECTIONS_PATH': str(REPO / '.cache' / 'collections'),
                'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'true', 'ANSIBLE_NOCOLOR': '1',
                'ANSIBLE_LOCALHOST_WARNING': 'False', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False'})
    return subprocess.run([str(BIN / 'ansible-playbook'), 'cachewarden.docker.awx_configure', '-e', json.dumps(extra_vars)],
                          env=env, capture_output=True, text=True, timeout=300, check=False, cwd=str(REPO))


def test_required_settings_are_named() -> None:
    result = _configure({})
    assert result.returncode == 2, result.stdout + result.stderr
    for name in VALID:
        assert '%s is required' % name in result.stdout
    assert 'Register the execution environment' not in result.stdout


def test_schedule_time_is_checked() -> None:
    result = _configure(dict(VALID, cachewarden_awx_schedule_time='25:00'))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'cachewarden_awx_schedule_time=25:00: expected HH:MM (24 hours)' in result.stdout
    assert 'Register the execution environment' not in result.stdout


def test_valid_settings_reach_the_controller_from_the_environment() -> None:
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Refuse)
    seen: List[str] = []
    server.seen = seen  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _configure(dict(VALID), controller_host='http://127.0.0.1:%d' % server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'TASK [Register the execution environment]' in result.stdout
    assert seen and all(path.startswith('/api/') for path in seen), seen
    assert 'Create the project' not in result.stdout
