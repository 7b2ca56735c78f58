# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every cachewarden.docker module (paired with connection.ENGINE_ARGUMENT_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the engine connection options."""

    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - Where the Docker engine listens, as a URL, on the managed host.
      - C(unix:///path/to/docker.sock) for a local socket, C(tcp://host:2376) for a remote engine.
      - With O(tls=true) or O(validate_certs=true) a C(tcp://) URL is reached over HTTPS.
      - Falls back to the E(DOCKER_HOST) environment variable of the managed host.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  api_version:
    description:
      - The Docker Engine API version to speak.
      - V(auto) negotiates the engine's own version. Versions older than 1.41 (Docker 20.10) are refused.
      - Newer API parameters (for example build cache reserves of API 1.48) are only sent when the
        negotiated version offers them.
      - Falls back to E(DOCKER_API_VERSION).
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description:
      - Seconds to wait for each answer of the engine, more than 0. Falls back to E(DOCKER_TIMEOUT).
    type: int
    default: 60
  tls:
    description:
      - Connect over TLS without verifying the engine's certificate.
      - Prefer O(validate_certs=true); this option exists for engines with self-made certificates.
      - Falls back to E(DOCKER_TLS).
    type: bool
    default: false
  validate_certs:
    description:
      - Connect over TLS and verify the engine's certificate against O(ca_path).
      - O(ca_path), and V(false) here with O(tls=true), win over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - Falls back to E(DOCKER_TLS_VERIFY).
    type: bool
    default: false
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate that signed the engine's certificate.
      - Defaults to C(ca.pem) in E(DOCKER_CERT_PATH) when that variable is set.
    type: path
    aliases: [ca_cert, tls_ca_cert]
  client_cert:
    description:
      - Client certificate presented to the engine. Needs O(client_key).
      - Defaults to C(cert.pem) in E(DOCKER_CERT_PATH) when that variable is set.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - Private key of O(client_cert). Never returned or logged.
      - Defaults to C(key.pem) in E(DOCKER_CERT_PATH) when that variable is set.
    type: path
    aliases: [tls_client_key, key_path]
  tls_hostname:
    description:
      - Name to check the engine's certificate against instead of the host in O(docker_host).
      - Only used with O(validate_certs=true). Falls back to E(DOCKER_TLS_HOSTNAME).
    type: str
notes:
  - Access to the Docker socket is equivalent to root on the managed host; see the collection's docs/security.md.
  - Connection options can be set once for both modules with C(module_defaults) and the action group
    C(group/cachewarden.docker.docker_cache).
requirements:
  - Docker SDK for Python 7.1 or newer (C(docker)) on the managed host (releases before 7.1 do not work with requests 2.32 or newer).
  - Docker Engine 20.10 (API 1.41) or newer.
'''
