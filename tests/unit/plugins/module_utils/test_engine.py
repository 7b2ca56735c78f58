# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine.py: the pure helpers (API-version gates, failure messages, argument spec)."""

from __future__ import annotations

import socket

import pytest
import requests.exceptions

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import (
    API_BUILD_PRUNE_RESERVED,
    API_DF_TYPE_FILTER,
    ENGINE_ARGUMENT_SPEC,
    MIN_API_VERSION,
    api_at_least,
    describe_failure,
    engine_argument_spec,
)

SOCKET = 'unix:///var/run/docker.sock'


@pytest.mark.parametrize('version, minimum, expected', [
    ('1.41', '1.41', True),
    ('1.45', '1.42', True),
    ('1.41', '1.42', False),
    ('1.100', '1.99', True),   # numeric, not string, comparison
    ('1.9', '1.41', False),
    ('2.0', '1.99', True),
    ('1.51', API_BUILD_PRUNE_RESERVED, True),
    ('1.47', API_BUILD_PRUNE_RESERVED, False),
])
def test_api_at_least(version, minimum, expected):
    assert api_at_least(version, minimum) is expected


def test_api_gates_are_ordered():
    assert api_at_least(API_DF_TYPE_FILTER, MIN_API_VERSION)
    assert api_at_least(API_BUILD_PRUNE_RESERVED, API_DF_TYPE_FILTER)


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
    message = describe_failure(SOCKET, error)
    assert message.startswith('the Docker engine at %s did not answer in time (timeout option)' % SOCKET)
    # The innermost cause is quoted.
    assert message.endswith(': timed out')


def test_describe_failure_tls():
    message = describe_failure('https://engine:2376', requests.exceptions.SSLError('[SSL: CERTIFICATE_VERIFY_FAILED]'))
    assert message.startswith('TLS handshake with the Docker engine at https://engine:2376 failed')


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
