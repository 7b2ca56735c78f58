# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine.py: the pure helpers (API-version gates, failure messages, argument spec)."""

from __future__ import annotations

import socket

import pytest
import requests
import requests.exceptions

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import (
    ENGINE_ARGUMENT_SPEC,
    MIN_API_VERSION,
    api_at_least,
    connection_problems,
    connection_warnings,
    engine_argument_spec,
)
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    API_DF_TYPE_FILTER,
    EngineError,
    _explicit_verification,
    api_target,
    check_engine_params,
    describe_failure,
    sdk_incompatibility,
)

SOCKET = 'unix:///var/run/docker.sock'


@pytest.mark.parametrize('version, minimum, expected', [
    ('1.41', '1.41', True),
    ('1.45', '1.42', True),
    ('1.41', '1.42', False),
    ('1.100', '1.99', True),   # numeric, not string, comparison
    ('1.9', '1.41', False),
    ('2.0', '1.99', True),
    ('1.51', '1.48', True),
    ('1.47', '1.48', False),
])
def test_api_at_least(version, minimum, expected):
    assert api_at_least(version, minimum) is expected


def test_api_gates_are_ordered():
    assert api_at_least(API_DF_TYPE_FILTER, MIN_API_VERSION)


def _chained(outer, inner):
    """``outer`` raised while handling ``inner``, as requests wraps socket errors."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:  # pylint: disable=broad-except
        return exc


def test_describe_failure_permission_denied():
    error = _chained(requests.exceptions.ConnectionError('Connection aborted.'),
                     PermissionError(13, 'Permission denied'))
    message = describe_failure(SOCKET, error)
    assert message.startswith('permission denied on the Docker socket %s' % SOCKET)
    assert 'docker group' in message and 'become' in message


def test_describe_failure_permission_denied_in_text_only():
    # requests sometimes keeps only the text of the socket error, not the exception.
    text = "('Connection aborted.', PermissionError(13, 'Permission denied'))"
    message = describe_failure(SOCKET, requests.exceptions.ConnectionError(text))
    assert message.startswith('permission denied')


def test_describe_failure_missing_socket():
    error = _chained(requests.exceptions.ConnectionError('Connection aborted.'),
                     FileNotFoundError(2, 'No such file or directory'))
    assert describe_failure(SOCKET, error) == (
        'cannot reach the Docker engine at %s: the socket does not exist (is dockerd running?)' % SOCKET)


def test_describe_failure_timeout():
    error = _chained(requests.exceptions.ReadTimeout('UnixHTTPConnectionPool: Read timed out. (read timeout=60)'),
                     socket.timeout('timed out'))
    message = describe_failure(SOCKET, error, 7)
    assert message.startswith('the Docker engine at %s did not answer within timeout=7 seconds' % SOCKET)
    # The innermost cause is quoted.
    assert message.endswith(': timed out')
    assert 'timeout=60 seconds' in describe_failure(SOCKET, error)


def test_describe_failure_tls():
    message = describe_failure('https://engine:2376', requests.exceptions.SSLError('[SSL: CERTIFICATE_VERIFY_FAILED]'))
    assert message.startswith('TLS handshake with the Docker engine at https://engine:2376 failed')


# SSL errors as Python reports them against a Docker 20.10 engine (tests/integration/test_tls.py).
@pytest.mark.parametrize('error, hint', [
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate',
     "not signed by the CA in ca_path"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for "
     "'10.0.0.1'.", 'set tls_hostname'),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for "
     "'engine'.", 'set tls_hostname'),
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired',
     "the engine's certificate has expired"),
    ('[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate', 'client_cert and client_key missing, expired'),
    ('[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required', 'set client_cert and client_key'),
    ('[SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired', 'client certificate (client_cert) as expired'),
    ('[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca', 'does not trust the CA'),
    ('[SSL: WRONG_VERSION_NUMBER] wrong version number', 'check validate_certs, ca_path'),
])
def test_describe_failure_tls_hints(error, hint):
    message = describe_failure('https://engine:2376', requests.exceptions.SSLError(error))
    assert hint in message and message.endswith('(%s)' % error)


def test_describe_failure_plain_http_to_a_tls_engine():
    error = ValueError('400 Client Error: Bad Request ("Client sent an HTTP request to an HTTPS server.")')
    message = describe_failure('tcp://engine:2376', error)
    assert message.startswith('the Docker engine at tcp://engine:2376 speaks TLS') and 'validate_certs=true' in message


def test_describe_failure_other():
    assert describe_failure('tcp://engine:2375', ValueError('boom')) == \
        'cannot reach the Docker engine at tcp://engine:2375: boom'


def test_describe_failure_survives_a_cyclic_chain():
    first, second = ValueError('first'), ValueError('second')
    first.__context__, second.__context__ = second, first
    assert describe_failure(SOCKET, first) == 'cannot reach the Docker engine at %s: first' % SOCKET


def test_engine_argument_spec_is_a_fresh_copy():
    spec = engine_argument_spec()
    assert set(spec) == set(ENGINE_ARGUMENT_SPEC)
    spec['timeout']['default'] = 1
    assert ENGINE_ARGUMENT_SPEC['timeout']['default'] == 60
    assert engine_argument_spec()['timeout']['default'] == 60
    # The private key path is not a secret itself: explicitly not no_log.
    assert spec['client_key']['no_log'] is False


@pytest.mark.parametrize('params, message', [
    ({'timeout': 0}, 'timeout=0: must be more than 0 seconds'),
    ({'timeout': -3}, 'timeout=-3: must be more than 0 seconds'),
    ({'docker_host': 'ftp://engine'}, "docker_host='ftp://engine': expected a URL like"),
    ({'docker_host': '/var/run/docker.sock'}, "docker_host='/var/run/docker.sock': expected a URL like"),
    ({'api_version': 'x.y'}, "api_version='x.y': expected auto or a version like 1.41"),
    ({'api_version': '1.41.2'}, "api_version='1.41.2': expected auto"),
    ({'api_version': '1.40'}, "api_version='1.40': cachewarden.docker needs 1.41 or newer"),
])
def test_check_engine_params_names_the_option_and_value(params, message):
    with pytest.raises(EngineError) as caught:
        check_engine_params(params)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize('params', [
    {}, {'timeout': 1, 'docker_host': 'tcp://engine:2376', 'api_version': '1.41'},
    {'docker_host': 'unix:///run/docker.sock', 'api_version': 'auto', 'timeout': None},
    {'docker_host': 'ssh://root@engine'}, {'docker_host': 'https://engine:2376'},
])
def test_check_engine_params_accepts_good_values(params):
    check_engine_params(params)


def test_connection_problems_names_every_bad_option():
    problems = connection_problems({'timeout': 0, 'docker_host': 'ftp://engine', 'api_version': '1.40'},
                                   prefix='cache_policy_')
    assert problems == ['cache_policy_timeout=0: must be more than 0 seconds',
                        "cache_policy_docker_host='ftp://engine': expected a URL like unix:///var/run/docker.sock "
                        'or tcp://HOST:2376',
                        "cache_policy_api_version='1.40': cachewarden.docker needs 1.41 or newer"]


@pytest.mark.parametrize('params, explicit', [
    ({}, False),
    ({'validate_certs': True}, False),  # the environment's CA bundle stays the default
    ({'validate_certs': True, 'ca_path': '/ca.pem'}, True),
    ({'tls': True}, True),
    ({'tls': True, 'validate_certs': False, 'ca_path': '/ca.pem'}, True),
    ({'ca_path': '/ca.pem'}, False),  # no TLS at all
])
def test_explicit_verification(params, explicit, monkeypatch):
    monkeypatch.delenv('DOCKER_CERT_PATH', raising=False)
    assert _explicit_verification(params) is explicit


def test_connection_warnings():
    assert connection_warnings({}) == []
    assert connection_warnings({'docker_host': 'unix:///run/docker.sock', 'tls': True, 'validate_certs': True}) == []
    assert connection_warnings({'docker_host': 'tcp://engine:2376', 'validate_certs': True}) == []
    [unverified] = connection_warnings({'docker_host': 'tcp://engine:2376', 'tls': True, 'validate_certs': False})
    assert 'validate_certs=false' in unverified and 'tcp://engine:2376' in unverified
    [plain] = connection_warnings({'docker_host': 'tcp://engine:2375'})
    assert 'without TLS' in plain and 'tcp://engine:2375' in plain
    assert connection_warnings({'tls_hostname': 'engine.example'}) == [
        "tls_hostname='engine.example' is ignored without validate_certs=true"]


@pytest.mark.parametrize('params, target', [
    (None, '/v1.51/images/json'),
    ({}, '/v1.51/images/json'),
    ({'all': 1}, '/v1.51/images/json?all=1'),
    ({'type': ['image', 'build-cache'], 'skip': None}, '/v1.51/images/json?type=image&type=build-cache'),
    ({'filters': '{"id":["^(a|b)$"]}'}, '/v1.51/images/json?filters=%7B%22id%22%3A%5B%22%5E%28a%7Cb%29%24%22%5D%7D'),
])
def test_api_target_encodes_like_the_sdk_session(params, target):
    assert api_target('1.51', '/images/json', params) == target
    requests_url = requests.Request('GET', 'http://docker/v1.51/images/json', params=params).prepare().path_url
    assert target == requests_url


@pytest.mark.parametrize('sdk, requests_version, works', [
    ('6.1.3', '2.31.0', True),     # what pip picked before requests 2.32
    ('6.1.3', '2.32.4', False),    # what pip picks for docker>=6 on Python 3.8 today
    ('7.0.0', '2.32.3', False),
    ('7.1.0', '2.32.4', True),
    ('7.2.0', '2.34.2', True),
    ('7.1.0rc1', '2.32.0', True),
    ('8.0.0', '3.0.0', True),
])
def test_sdk_incompatibility(sdk: str, requests_version: str, works: bool) -> None:
    """The SDK/requests pairs that fail with "Not supported URL scheme http+docker" get a message naming both."""
    message = sdk_incompatibility(sdk, requests_version)
    if works:
        assert message is None
    else:
        assert message is not None and sdk in message and requests_version in message and 'docker>=7.1' in message
