# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one boundary to the Docker SDK: every SDK and transport detail stays in this file.

The rest of module_utils sees a small interface (Engine: get, post, delete, get_json_lines, read_stream, ping,
info, supports, api_version) and one error type (EngineError; EngineAPIError when the engine answered an error
status, with that status). tests/integration/test_engine_contract.py pins it on a real engine.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar
from urllib.parse import urlencode

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import (
    DEFAULT_DOCKER_HOST, DEFAULT_TIMEOUT, MIN_API_VERSION, api_at_least, connection_problems)

try:
    import docker
    import requests.adapters
    from docker.errors import DockerException
    from requests.exceptions import RequestException
    from urllib3.exceptions import HTTPError as Urllib3Error
    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised on hosts without the SDK
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses stay valid without the SDK."""

    class RequestException(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses stay valid without the SDK."""

    class Urllib3Error(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses stay valid without the SDK."""

# Docker SDK for Python releases before 7.1 cannot reach the engine with requests 2.32 or newer
# ("Not supported URL scheme http+docker"): the collection needs docker>=7.1 (requirements.txt).
MIN_SDK_VERSION = '7.1'
REQUESTS_BREAKING_OLD_SDK = '2.32'
# Requests in flight at once for per-object calls (inspect, delete): the engine serves them
# concurrently, and staying below the SDK's connection pool size (10) reuses its connections.
ENGINE_WORKERS = 8

# Engine API versions at which newer parameters appear.
API_DF_TYPE_FILTER = '1.42'        # GET /system/df?type=...
API_IMAGE_MANIFESTS = '1.47'       # GET /images/json?manifests=1 (the containerd store's unpacked sizes)
API_VOLUME_ANONYMOUS_LABEL = '1.42'  # the engine labels anonymous volumes com.docker.volume.anonymous


def check_engine_params(params: Dict[str, Any]) -> None:
    """Refuse connection options the SDK would reject with a traceback or without naming the option."""
    problems = connection_problems(params)
    if problems:
        raise EngineError('; '.join(problems))


T = TypeVar('T')
R = TypeVar('R')


def map_concurrently(action: Callable[[T], R], items: Iterable[T], workers: int = ENGINE_WORKERS) -> List[R]:
    """``action`` on every item, up to ``workers`` at once; results in item order, the first exception raised."""
    items = list(items)
    if len(items) < 2 or workers < 2:
        return [action(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(action, items))


class EngineError(Exception):
    """A failure talking to the engine, with a message fit for the user."""


class EngineAPIError(EngineError):
    """The engine answered with an error status (404 gone, 409 conflict, ...)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def api_target(api_version: str, path: str, params: Optional[Dict[str, Any]] = None) -> str:
    """The request target of an API call, encoded as the SDK's session does: None values left out,
    list values repeated (``type=image&type=build-cache``)."""
    query = urlencode({key: value for key, value in (params or {}).items() if value is not None}, doseq=True)
    return '/v%s%s%s' % (api_version, path, '?' + query if query else '')


def _cert_path_default(params: Dict[str, Any], name: str, filename: str) -> Optional[str]:
    """Fill a TLS file from DOCKER_CERT_PATH when the option is not set, as the CLI does."""
    if params.get(name):
        return params[name]
    cert_dir = os.environ.get('DOCKER_CERT_PATH')
    if cert_dir and os.path.exists(os.path.join(cert_dir, filename)):
        return os.path.join(cert_dir, filename)
    return None


def _tls_config(params: Dict[str, Any]) -> Any:
    ca_path = _cert_path_default(params, 'ca_path', 'ca.pem')
    client_cert = _cert_path_default(params, 'client_cert', 'cert.pem')
    client_key = _cert_path_default(params, 'client_key', 'key.pem')
    verify = params.get('validate_certs')
    if not (params.get('tls') or verify):
        return False
    if bool(client_cert) != bool(client_key):
        raise EngineError('client_cert and client_key must be given together (client_cert=%r, client_key=%r)'
                          % (client_cert, client_key))
    for option, path in (('ca_path', ca_path), ('client_cert', client_cert), ('client_key', client_key)):
        if path and not os.path.isfile(path):
            raise EngineError('%s=%r: no such file' % (option, path))
    return docker.tls.TLSConfig(
        client_cert=(client_cert, client_key) if client_cert else None,
        ca_cert=ca_path if verify else None,
        verify=ca_path if (verify and ca_path) else bool(verify),
    )


def _explicit_verification(params: Dict[str, Any]) -> bool:
    """Whether the options say how to verify the engine (a CA file, or no verification), so the
    environment must not; ``validate_certs`` alone keeps the environment's CA bundle as the default."""
    tls = bool(params.get('tls') or params.get('validate_certs'))
    return tls and (not params.get('validate_certs') or bool(_cert_path_default(params, 'ca_path', 'ca.pem')))


if HAS_DOCKER_SDK:
    class _HostnameAdapter(requests.adapters.HTTPAdapter):
        """Checks the engine's certificate against ``tls_hostname`` instead of the URL's host."""

        def __init__(self, hostname: str) -> None:
            self._hostname = hostname
            super().__init__()

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs['assert_hostname'] = self._hostname
            super().init_poolmanager(*args, **kwargs)


def _docker_host(params: Dict[str, Any]) -> str:
    host = params.get('docker_host') or DEFAULT_DOCKER_HOST
    if (params.get('tls') or params.get('validate_certs')) and host.startswith('tcp://'):
        host = 'https://' + host[len('tcp://'):]
    return host


# (words in the SSL error, what they mean), first match wins
_TLS_HINTS = (
    ('MISMATCH', "the engine's certificate does not name the host of docker_host; set tls_hostname to a name it holds"),
    ('CERTIFICATE HAS EXPIRED', "the engine's certificate has expired"),
    ('CERTIFICATE_VERIFY_FAILED', "the engine's certificate is not signed by the CA in ca_path (or, without ca_path, "
                                  "by a CA this host trusts)"),
    ('CERTIFICATE_REQUIRED', 'the engine requires a client certificate: set client_cert and client_key'),
    ('CERTIFICATE_EXPIRED', 'the engine refused the client certificate (client_cert) as expired'),
    ('UNKNOWN_CA', 'the engine does not trust the CA that signed the client certificate (client_cert)'),
    ('BAD_CERTIFICATE', 'the engine refused the client certificate: client_cert and client_key missing, expired, '
                        'or not signed by a CA the engine trusts'),
)


def _tls_hint(text: str) -> str:
    """What an SSL error most likely means, naming the option to fix."""
    upper = text.upper()
    return next((hint for words, hint in _TLS_HINTS if words in upper),
                'check validate_certs, ca_path, client_cert and client_key')


def describe_failure(docker_host: str, error: BaseException, timeout: Optional[int] = None) -> str:
    """Turn SDK/requests exceptions into one line that says what to do."""
    chain = []
    current: Optional[BaseException] = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = ' '.join(str(item) for item in chain)
    if any(isinstance(item, PermissionError) for item in chain) or 'Permission denied' in text:
        return ('permission denied on the Docker socket %s: run as root (become: true) or as a member of '
                'the docker group' % docker_host)
    if 'No such file or directory' in text or any(isinstance(item, FileNotFoundError) for item in chain):
        return 'cannot reach the Docker engine at %s: the socket does not exist (is dockerd running?)' % docker_host
    if 'CERTIFICATE' in text.upper() or 'SSL' in text.upper():
        return 'TLS handshake with the Docker engine at %s failed: %s (%s)' % (docker_host, _tls_hint(text), chain[-1])
    if 'HTTP request to an HTTPS server' in text:
        return ('the Docker engine at %s speaks TLS: set validate_certs=true with ca_path, client_cert and client_key'
                % docker_host)
    if 'timed out' in text.lower() or 'timeout' in text.lower():
        return 'the Docker engine at %s did not answer within timeout=%s seconds: %s' % (
            docker_host, timeout if timeout is not None else DEFAULT_TIMEOUT, chain[-1])
    return 'cannot reach the Docker engine at %s: %s' % (docker_host, error)


def sdk_incompatibility(sdk_version: str, requests_version: str) -> Optional[str]:
    """Why this Docker SDK cannot work with this requests library, or None when the pair works."""
    if _release(sdk_version) >= _release(MIN_SDK_VERSION) or _release(requests_version) < _release(REQUESTS_BREAKING_OLD_SDK):
        return None
    return ('the Docker SDK for Python %s on the managed host cannot reach the engine with requests %s (SDK releases '
            'before %s fail with "Not supported URL scheme http+docker"): install docker>=%s there, or requests<%s'
            % (sdk_version, requests_version, MIN_SDK_VERSION, MIN_SDK_VERSION, REQUESTS_BREAKING_OLD_SDK))


def _release(version: str) -> Tuple[int, ...]:
    """The leading numbers of a package version (``2.32.4`` -> (2, 32, 4); ``7.1.0rc1`` -> (7, 1, 0))."""
    numbers = []
    for part in version.split('.'):
        digits = re.match(r'\d+', part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:
            break
    return tuple(numbers)


class Engine:
    """A connected engine: the low-level SDK client, its negotiated API version and version info."""

    def __init__(self, params: Dict[str, Any]) -> None:
        if not HAS_DOCKER_SDK:
            raise EngineError(missing_required_lib('docker (Docker SDK for Python >= %s)' % MIN_SDK_VERSION)
                              + '\n' + str(DOCKER_SDK_IMPORT_ERROR))
        incompatible = sdk_incompatibility(docker.__version__, requests.__version__)
        if incompatible:
            raise EngineError(incompatible)
        check_engine_params(params)
        self.docker_host = _docker_host(params)
        self.timeout = params.get('timeout') or DEFAULT_TIMEOUT
        requested = params.get('api_version') or 'auto'
        negotiate = requested == 'auto'
        try:
            self.client = docker.APIClient(
                base_url=self.docker_host,
                version=MIN_API_VERSION if negotiate else requested,
                timeout=self.timeout,
                tls=_tls_config(params),
            )
            if _explicit_verification(params):
                # requests would let REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace ca_path or validate_certs=false.
                self.client.trust_env = False
            if params.get('tls_hostname') and params.get('validate_certs'):
                self.client.mount('https://', _HostnameAdapter(params['tls_hostname']))
            self.version_info = self.client.version(api_version=False)
        except EngineError:
            raise
        except (DockerException, RequestException, OSError) as exc:
            raise EngineError(describe_failure(self.docker_host, exc, self.timeout)) from exc
        if negotiate:
            # Speak the engine's own API version, as the CLI does.
            self.client._version = self.version_info['ApiVersion']  # pylint: disable=protected-access
        self.api_version = self.client.api_version
        self._socket_pool = self._pool_for_socket()
        self._info: Optional[Dict[str, Any]] = None
        if not api_at_least(self.api_version, MIN_API_VERSION):
            raise EngineError('the Docker engine at %s speaks API %s; cachewarden.docker needs %s or newer'
                              % (self.docker_host, self.api_version, MIN_API_VERSION))

    def _pool_for_socket(self) -> Any:
        """One urllib3 pool of the SDK's socket adapter for every call, or None: TCP, TLS and SSH engines
        go through the SDK's session, which applies their certificates and settings."""
        base_url = self.client.base_url
        if not (self.docker_host.startswith('unix://') and base_url.startswith('http+docker://')):
            return None
        return self.client.get_adapter(base_url).get_connection(base_url)

    def info(self) -> Dict[str, Any]:
        """``GET /info``, read once per connection (the snapshot and the run lock both need it)."""
        if self._info is None:
            self._info = self.get('/info') or {}
        return self._info

    def supports(self, minimum_api: str) -> bool:
        """True when the negotiated API version is at least ``minimum_api``."""
        return api_at_least(self.api_version, minimum_api)

    def get(self, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """GET an API path and decode its JSON body."""
        return self._call('get', path, params=params)

    def post(self, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """POST to an API path and decode its JSON body (empty body -> None)."""
        return self._call('post', path, params=params)

    def delete(self, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """DELETE an API path and decode its JSON body (empty body -> None)."""
        return self._call('delete', path, params=params)

    def ping(self) -> bool:
        """Whether the engine answers ``GET /_ping`` (its body is plain text)."""
        try:
            self._call('get', '/_ping', decode=False)
        except EngineError:
            return False
        return True

    def get_json_lines(self, path: str, params: Optional[Dict[str, Any]] = None) -> List[Any]:
        """GET a path that answers with a stream of JSON objects (``/events`` with ``until``) and decode them all."""
        return decode_json_stream(self._call('get', path, params=params, decode=False) or b'')

    def read_stream(self, path: str, params: Optional[Dict[str, Any]], consume: Callable[[IO[bytes]], R]) -> R:
        """GET a path whose answer may be large (an image export) and hand its body to ``consume`` as a file
        read while it arrives, never held whole; what ``consume`` returns is returned."""
        try:
            if self._socket_pool is not None:
                response = self._socket_pool.request('GET', api_target(self.api_version, path, params), retries=False,
                                                     timeout=self.timeout, preload_content=False)
                status, body = response.status, response
            else:
                response = self.client._get(self.client._url(path), params=params, stream=True)  # pylint: disable=protected-access
                status, body = response.status_code, response.raw
        except (DockerException, RequestException, Urllib3Error, OSError) as exc:
            raise EngineError(describe_failure(self.docker_host, exc, self.timeout)) from exc
        try:
            if status >= 400:
                raise EngineAPIError(status, 'GET %s: %s' % (path, _explanation(body.read())))
            return consume(body)
        except (RequestException, Urllib3Error, OSError) as exc:
            raise EngineError(describe_failure(self.docker_host, exc, self.timeout)) from exc
        finally:
            response.close()  # a body not read to the end is not left for the next call on the connection
            if self._socket_pool is not None:
                response.release_conn()  # its place in the pool (a closed connection is opened again)

    def _call(self, method: str, path: str, params: Optional[Dict[str, Any]] = None, decode: bool = True) -> Any:
        """One API call, on either transport; a failure is an EngineError, an error status an EngineAPIError."""
        if self._socket_pool is not None:
            status, body = self._send_on_socket(method, path, params)
        else:
            status, body = self._send_on_session(method, path, params)
        if status >= 400:
            raise EngineAPIError(status, '%s %s: %s' % (method.upper(), path, _explanation(body)))
        if not decode:
            return body
        return json.loads(body) if body else None

    def _send_on_session(self, method: str, path: str, params: Optional[Dict[str, Any]]) -> Tuple[int, bytes]:
        """Through the SDK's requests session: TCP, TLS and SSH engines, with their certificates and settings."""
        url = self.client._url(path)  # pylint: disable=protected-access
        try:
            response = getattr(self.client, '_' + method)(url, params=params)
        except (DockerException, RequestException, OSError) as exc:
            raise EngineError(describe_failure(self.docker_host, exc, self.timeout)) from exc
        return response.status_code, response.content

    def _send_on_socket(self, method: str, path: str, params: Optional[Dict[str, Any]]) -> Tuple[int, bytes]:
        """Through the SDK's connection pool for the socket, kept alive for every call.

        The SDK's session opens a pool (and a new connection) per distinct URL, and its request layer
        costs about 1 ms of CPU per call: with one inspect per image that is most of a prune's time.
        """
        target = api_target(self.api_version, path, params)
        try:
            response = self._socket_pool.request(method.upper(), target, retries=False, timeout=self.timeout)
        except (Urllib3Error, OSError) as exc:
            raise EngineError(describe_failure(self.docker_host, exc, self.timeout)) from exc
        return response.status, response.data


def _explanation(body: bytes) -> str:
    """The engine's own words for an error status: the ``message`` of its JSON answer, else the body as text."""
    try:
        message = json.loads(body).get('message')
    except (ValueError, AttributeError):
        message = None
    return (message or body.decode('utf-8', 'replace')).strip()


def decode_json_stream(body: bytes) -> List[Any]:
    """The JSON objects of a streamed answer, written one after another (newlines or not)."""
    text = body.decode('utf-8', 'replace')
    decoder = json.JSONDecoder()
    items: List[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return items
        try:
            item, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            raise EngineError('the engine sent a stream that is not JSON at byte %d: %s' % (position, exc)) from exc
        items.append(item)
