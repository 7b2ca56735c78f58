# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A remote engine over TCP with TLS and client certificates (tls_engine.py: a second dockerd in h1's
network namespace), reached by the modules on h1 over SSH; no key material in any result or log."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from ansible_cli import run_cases, run_module
from tls_engine import SERVER_NAME, TLSEngine, private_key_lines, run_tls_engine

from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine
from sandbox.fleet import Fleet

HOST = 'h1'


@pytest.fixture(scope='module', name='tls_engine')
def tls_engine_fixture(fleet: Fleet) -> Iterator[TLSEngine]:
    """The TLS engine, for this module's tests only."""
    yield from run_tls_engine(fleet.host(HOST))


def _connection(engine: TLSEngine, **changes: Any) -> Dict[str, Any]:
    """Verified TLS with the client certificate; ``changes`` alter or (None) drop options."""
    args = {'docker_host': engine.url, 'validate_certs': True, 'tls_hostname': SERVER_NAME, 'timeout': 20,
            'ca_path': engine.inside('ca.pem'), 'client_cert': engine.inside('client.pem'),
            'client_key': engine.inside('client-key.pem')}
    args.update(changes)
    return {name: value for name, value in args.items() if value is not None}


def _cases(engine: TLSEngine) -> List[Dict[str, Any]]:
    return [
        {'id': 'client certificate', 'args': _connection(engine)},
        {'id': 'wrong CA', 'args': _connection(engine, ca_path=engine.inside('other-ca.pem'))},
        {'id': 'expired client certificate', 'args': _connection(
            engine, client_cert=engine.inside('expired.pem'), client_key=engine.inside('expired-key.pem'))},
        {'id': 'no client certificate', 'args': _connection(engine, client_cert=None, client_key=None)},
        {'id': 'certificate names another host', 'args': _connection(engine, tls_hostname=None)},
        {'id': 'not verified', 'args': _connection(engine, validate_certs=False, tls=True, tls_hostname=None)},
        {'id': 'no TLS at all', 'args': {'docker_host': engine.url, 'timeout': 20}},
    ]


def _no_key_material(engine: TLSEngine, text: str) -> None:
    assert 'PRIVATE KEY' not in text
    leaked = [line for line in private_key_lines(engine.folder) if line in text]
    assert not leaked, 'private key material in a result or log'


def test_tls_engine(tls_engine: TLSEngine, inventory: str, tmp_path: Path) -> None:
    """Client-certificate auth works; a wrong CA, an expired client certificate, a missing one and a name
    mismatch each fail clearly; validate_certs=false and plain TCP warn; no key material anywhere."""
    log = tmp_path / 'ansible.log'
    env = {'ANSIBLE_LOG_PATH': str(log), 'ANSIBLE_VERBOSITY': '3'}
    facts, output = run_cases(inventory, HOST, 'cachewarden.docker.docker_cache_facts', _cases(tls_engine), env=env)
    by_id = {result['item']['id']: result for result in facts}
    good = by_id['client certificate']
    assert not good.get('failed'), good.get('msg')
    assert good['ansible_facts']['docker_cache']['engine']['api_version']
    expected = {
        'wrong CA': ['TLS handshake', tls_engine.url.replace('tcp://', 'https://'), 'ca_path'],
        'expired client certificate': ['TLS handshake', 'client_cert', 'expired'],
        'no client certificate': ['TLS handshake', 'client_cert', 'client_key'],
        'certificate names another host': ['TLS handshake', 'tls_hostname'],
    }
    for name, fragments in expected.items():
        result = by_id[name]
        assert result.get('failed') is True, (name, result)
        for fragment in fragments:
            assert fragment in result['msg'], (name, fragment, result['msg'])
    unverified = by_id['not verified']
    assert not unverified.get('failed'), unverified.get('msg')
    assert 'tls=true with validate_certs=false: the certificate of the engine at %s is not verified' % tls_engine.url \
        in output, output
    plain = by_id['no TLS at all']
    assert plain.get('failed') is True and tls_engine.url in plain['msg'], plain
    assert 'docker_host=%s is reached without TLS' % tls_engine.url in output, output

    prune = run_cases(inventory, HOST, 'cachewarden.docker.docker_cache_prune', [
        {'id': 'prune over TLS', 'args': dict(_connection(tls_engine), containers=True,
                                              state_path='/tmp/cw-state-tls.json')}], env=env)[0]
    assert not prune[0].get('failed') and prune[0]['changed'] is False, prune[0].get('msg')
    _no_key_material(tls_engine, json.dumps(facts) + json.dumps(prune))
    _no_key_material(tls_engine, log.read_text(encoding='utf-8'))
    assert 'client-key.pem' in log.read_text(encoding='utf-8'), 'the log is verbose enough to show module arguments'


@pytest.mark.filterwarnings('ignore:Unverified HTTPS request')
def test_options_win_over_the_ca_bundle_of_the_environment(tls_engine: TLSEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """REQUESTS_CA_BUNDLE (set on many hosts) must not replace ca_path, nor turn validate_certs=false back on."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    folder = tls_engine.folder
    verified = Engine({'docker_host': tls_engine.url, 'validate_certs': True, 'tls_hostname': SERVER_NAME,
                       'ca_path': str(folder / 'ca.pem'), 'client_cert': str(folder / 'client.pem'),
                       'client_key': str(folder / 'client-key.pem'), 'timeout': 20})
    assert verified.get('/info')['ID']
    unverified = Engine({'docker_host': tls_engine.url, 'tls': True, 'client_cert': str(folder / 'client.pem'),
                         'client_key': str(folder / 'client-key.pem'), 'timeout': 20})
    assert unverified.get('/info')['ID']


def test_an_engine_with_an_expired_server_certificate_is_refused_clearly(fleet: Fleet, inventory: str) -> None:
    """The engine's own certificate has expired: the modules refuse it and say so, before any change."""
    with contextmanager(run_tls_engine)(fleet.host(HOST), server_cert='server-expired', port=2377,
                                        name='cw-tls-expired') as engine:
        args = _connection(engine)
        facts = run_module(inventory, HOST, 'cachewarden.docker.docker_cache_facts', args)[HOST]
        prune = run_module(inventory, HOST, 'cachewarden.docker.docker_cache_prune',
                           dict(args, containers=True, state_path='/tmp/cw-state-tls-expired.json'))[HOST]
        for result in (facts, prune):
            assert result['failed'] is True, result
            assert 'TLS handshake' in result['msg'] and "the engine's certificate has expired" in result['msg'], \
                result['msg']
        assert prune.get('removed', []) == []
