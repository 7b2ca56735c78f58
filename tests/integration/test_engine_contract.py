# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract of module_utils/engine.py, the only code that touches the Docker SDK, on real engines.

Both transports are pinned: the kept-alive pool on the engine's socket, and the SDK's requests session
that TCP, TLS and SSH engines use. Each must give the same answers and the same errors. The modules
support Docker SDK 6 and 7; this file runs on the SDK of the interpreter that runs pytest. On SDK 6 (which
needs requests older than 2.32), with the SDK put ahead of .venv's:
    .venv/bin/python -m pip install --target .cache/sdk6 --no-deps 'docker==6.1.3' 'requests<2.32' websocket-client
    PYTHONPATH=.cache/sdk6 .venv/bin/python -m pytest tests/integration/test_engine_contract.py -p no:cacheprovider
"""

from __future__ import annotations

import tarfile
import time
from typing import Any, Dict, Iterator, List

import pytest
from fleet_helpers import cli

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import MIN_API_VERSION
from ansible_collections.cachewarden.docker.plugins.module_utils.engine import Engine, EngineAPIError, EngineError
from ansible_collections.cachewarden.docker.plugins.module_utils.engine_answers import image_store_name
from ansible_collections.cachewarden.docker.plugins.module_utils.layer_blobs import blob_sizes_of_export
from sandbox.fleet import Fleet, Host

VOLUME = 'cw-engine-contract'


def _engine(host: Host, transport: str) -> Engine:
    engine = Engine({'docker_host': host.docker_host, 'api_version': 'auto', 'timeout': 60})
    if transport == 'session':
        # The socket pool is an optimisation for unix sockets; without it the call takes the SDK session
        # every remote engine uses, so both paths are tested on the same engine.
        engine._socket_pool = None  # pylint: disable=protected-access
    return engine


@pytest.fixture(name='engine', params=[('h1', 'socket'), ('h1', 'session'), ('h2', 'socket'), ('h2', 'session')],
                ids='-'.join)
def engine_fixture(fleet: Fleet, request: pytest.FixtureRequest) -> Iterator[Dict[str, Any]]:
    """An Engine of a fleet host over one transport, and the host, with no contract volume left behind."""
    host = fleet.host(request.param[0])
    yield {'engine': _engine(host, request.param[1]), 'host': host}
    cli(host, 'volume', 'rm', '--force', VOLUME)


def test_connects_with_the_engines_own_api_version(engine: Dict[str, Any]) -> None:
    connected: Engine = engine['engine']
    assert connected.api_version == cli(engine['host'], 'version', '--format', '{{.Server.APIVersion}}').strip()
    assert connected.supports(MIN_API_VERSION) and not connected.supports('9.0')
    assert connected.version_info['ApiVersion'] == connected.api_version
    assert connected.ping() is True


def test_get_decodes_json_and_encodes_parameters(engine: Dict[str, Any]) -> None:
    connected: Engine = engine['engine']
    info = connected.info()
    assert info['ID'] and connected.info() is info  # read once per connection
    every = connected.get('/images/json', params={'all': 1})
    ids = cli(engine['host'], 'images', '--all', '--no-trunc', '--quiet').split()
    assert {image['Id'] for image in every} == set(ids)
    # None values are left out: the same images as without the None.
    again = connected.get('/images/json', params={'all': 1, 'digests': None})
    assert sorted(image['Id'] for image in again) == sorted(image['Id'] for image in every)
    dangling = connected.get('/images/json', params={'filters': '{"dangling":["true"]}'})
    assert {image['Id'] for image in dangling} == set(
        cli(engine['host'], 'images', '--filter', 'dangling=true', '--no-trunc', '--quiet').split())


def test_post_and_delete_change_the_engine(engine: Dict[str, Any]) -> None:
    connected: Engine = engine['engine']
    cli(engine['host'], 'volume', 'create', '--label', 'cw-contract=1', VOLUME)
    answer = connected.post('/volumes/prune', params={'filters': '{"label":["cw-contract-none"]}'})
    assert answer['VolumesDeleted'] in (None, []) and answer['SpaceReclaimed'] == 0
    assert connected.delete('/volumes/%s' % VOLUME) is None  # 204, empty body
    assert VOLUME not in cli(engine['host'], 'volume', 'ls', '--quiet').split()


def test_event_stream_is_decoded_to_the_end(engine: Dict[str, Any]) -> None:
    connected: Engine = engine['engine']
    since = int(time.time()) - 1
    cli(engine['host'], 'volume', 'create', VOLUME)
    events = connected.get_json_lines('/events', params={
        'since': since, 'until': int(time.time()) + 1, 'filters': '{"type":["volume"],"event":["create"]}'})
    assert VOLUME in [event['Actor']['ID'] for event in events]


def _member_sizes(stream: Any) -> List[tuple]:
    with tarfile.open(fileobj=stream, mode='r|') as archive:
        return [(member.name, member.size) for member in archive]


def test_a_large_answer_is_streamed_to_the_end(engine: Dict[str, Any], tmp_path: Any) -> None:
    """An image export, read while it arrives: the same files as `docker save` writes; on the containerd store the
    blob sizes (layer_blobs.py) and the manifest add up to the content size the listing gives."""
    connected: Engine = engine['engine']
    listing = connected.get('/images/json', params={'manifests': 1} if connected.supports('1.47') else None)
    chosen = max(listing, key=lambda image: (len(image.get('RepoTags') or []), image['Id']))
    saved = tmp_path / 'saved.tar'
    cli(engine['host'], 'save', '--output', str(saved), chosen['Id'])
    with tarfile.open(saved) as archive:
        expected = [(member.name, member.size) for member in archive]
    assert connected.read_stream('/images/%s/get' % chosen['Id'], None, _member_sizes) == expected
    with pytest.raises(EngineAPIError) as caught:
        connected.read_stream('/images/cw-no-such-image/get', None, _member_sizes)
    assert caught.value.status_code == 404 and 'cw-no-such-image' in str(caught.value)
    sizes = connected.read_stream('/images/%s/get' % chosen['Id'], None, blob_sizes_of_export)
    if image_store_name(connected.info()) == 'containerd':
        manifest = next(entry for entry in chosen['Manifests'] if entry['Kind'] == 'image')
        assert sizes is not None
        assert sizes.config + sum(sizes.layers) + manifest['Descriptor']['size'] == manifest['Size']['Content']
    else:
        assert sizes is None, 'a graphdriver store exports the older layout (no blobs/)'


@pytest.mark.parametrize('method, path, status, words', [
    ('get', '/images/cw-no-such-image/json', 404, 'no such image'),
    ('delete', '/volumes/cw-no-such-volume', 404, 'no such volume'),
    ('get', '/no/such/endpoint', 404, 'page not found'),
])
def test_error_status_is_one_error_type_with_the_engines_words(engine: Dict[str, Any], method: str, path: str,
                                                               status: int, words: str) -> None:
    with pytest.raises(EngineAPIError) as caught:
        getattr(engine['engine'], method)(path)
    assert isinstance(caught.value, EngineError)
    assert caught.value.status_code == status
    assert str(caught.value).startswith('%s %s: ' % (method.upper(), path)), str(caught.value)
    assert words in str(caught.value).lower(), str(caught.value)


def test_engine_that_is_not_there_is_an_engine_error() -> None:
    with pytest.raises(EngineError) as caught:
        Engine({'docker_host': 'unix:///var/run/cw-no-such-engine.sock'})
    assert 'does not exist' in str(caught.value)
