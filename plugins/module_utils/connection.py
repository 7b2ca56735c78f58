# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine connection options: their spec and the checks that need no engine (nor the Docker SDK).

Kept apart from engine.py so that the controller (the role's validation filter) can check them too.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from ansible.module_utils.basic import env_fallback

MIN_API_VERSION = '1.41'
DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'
DEFAULT_TIMEOUT = 60

ENGINE_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    'docker_host': dict(type='str', default=DEFAULT_DOCKER_HOST, aliases=['docker_url'],
                        fallback=(env_fallback, ['DOCKER_HOST'])),
    'api_version': dict(type='str', default='auto', aliases=['docker_api_version'],
                        fallback=(env_fallback, ['DOCKER_API_VERSION'])),
    'timeout': dict(type='int', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['DOCKER_TIMEOUT'])),
    'tls': dict(type='bool', default=False, fallback=(env_fallback, ['DOCKER_TLS'])),
    'validate_certs': dict(type='bool', default=False, aliases=['tls_verify'],
                           fallback=(env_fallback, ['DOCKER_TLS_VERIFY'])),
    'ca_path': dict(type='path', aliases=['ca_cert', 'tls_ca_cert']),
    'client_cert': dict(type='path', aliases=['tls_client_cert', 'cert_path']),
    'client_key': dict(type='path', aliases=['tls_client_key', 'key_path'], no_log=False),
    'tls_hostname': dict(type='str', fallback=(env_fallback, ['DOCKER_TLS_HOSTNAME'])),
}

_HOST_SCHEMES = ('unix://', 'tcp://', 'http://', 'https://', 'ssh://')
_API_VERSION_RE = re.compile(r'^[0-9]+\.[0-9]+$')


def engine_argument_spec() -> Dict[str, Dict[str, Any]]:
    """A fresh copy of the shared connection options, to merge into a module's spec."""
    return {name: dict(spec) for name, spec in ENGINE_ARGUMENT_SPEC.items()}


def api_at_least(api_version: str, minimum: str) -> bool:
    """Compare two ``major.minor`` Docker API versions."""
    return _version_tuple(api_version) >= _version_tuple(minimum)


def _version_tuple(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in version.split('.'))


def connection_problems(params: Dict[str, Any], prefix: str = '') -> List[str]:
    """Every connection option the SDK would reject with a traceback or without naming the option, one message
    each naming the option (``prefix`` + name) and the value."""
    problems = []
    timeout = params.get('timeout')
    if timeout is not None and timeout <= 0:
        problems.append('%stimeout=%r: must be more than 0 seconds' % (prefix, timeout))
    host = params.get('docker_host') or DEFAULT_DOCKER_HOST
    if not host.startswith(_HOST_SCHEMES):
        problems.append('%sdocker_host=%r: expected a URL like unix:///var/run/docker.sock or tcp://HOST:2376'
                        % (prefix, host))
    api_version = params.get('api_version') or 'auto'
    if api_version != 'auto' and not _API_VERSION_RE.match(api_version):
        problems.append('%sapi_version=%r: expected auto or a version like %s' % (prefix, api_version, MIN_API_VERSION))
    elif api_version != 'auto' and not api_at_least(api_version, MIN_API_VERSION):
        problems.append('%sapi_version=%r: cachewarden.docker needs %s or newer' % (prefix, api_version, MIN_API_VERSION))
    return problems


def connection_warnings(params: Dict[str, Any]) -> List[str]:
    """What is unsafe about how the engine is reached (for module.warn)."""
    host = params.get('docker_host') or DEFAULT_DOCKER_HOST
    if params.get('validate_certs'):
        return []
    if params.get('tls_hostname'):
        return ['tls_hostname=%r is ignored without validate_certs=true' % params['tls_hostname']]
    if params.get('tls'):
        return ['tls=true with validate_certs=false: the certificate of the engine at %s is not verified, so anyone '
                'on the network path can pose as it; set validate_certs=true and ca_path' % host]
    if host.startswith(('tcp://', 'http://')):
        return ['docker_host=%s is reached without TLS: anyone on the network path can read and drive the engine, '
                'which is root on its host; set validate_certs=true with ca_path, client_cert and client_key' % host]
    return []
