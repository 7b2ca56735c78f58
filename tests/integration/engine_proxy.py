# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test-only HTTP proxy in front of a real engine socket, for faults the engine cannot be made to show.

It listens on a Unix socket in a sandbox host's run folder (so the host sees it under /var/run) and
passes every call through to the host's real engine, except that a ``rule`` may answer a call itself
(an HTTP 409 "a prune operation is already running") or act first (stop the engine), and ``delay``
makes every answer late (a slow engine). Every call is recorded with its time and status.
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

# rule(method, path) -> None to pass the call through, or (status, JSON body) to answer it
Rule = Callable[[str, str], Optional[Tuple[int, Dict[str, Any]]]]
UPSTREAM_TIMEOUT = 120
_HOP_HEADERS = {'connection', 'content-length', 'transfer-encoding', 'keep-alive'}


class _UnixConnection(http.client.HTTPConnection):
    """http.client over a Unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__('localhost', timeout=UPSTREAM_TIMEOUT)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server: '_Server'

    def _handle(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        answer = proxy.rule(self.command, self.path) if proxy.rule else None
        if proxy.delay:
            time.sleep(proxy.delay)
        if answer is None:
            try:
                status, headers, data = proxy.forward(self.command, self.path, body, dict(self.headers))
            except OSError:  # the engine is gone: drop the connection, as a dead socket would
                proxy.record(self.command, self.path, 0)
                self.close_connection = True
                return
        else:
            status, headers, data = answer[0], [('Content-Type', 'application/json')], json.dumps(answer[1]).encode()
        proxy.record(self.command, self.path, status)
        try:
            self.send_response(status)
            chunked = any(name.lower() == 'transfer-encoding' and 'chunked' in value.lower() for name, value in headers)
            for name, value in headers:
                if name.lower() not in _HOP_HEADERS:
                    self.send_header(name, value)
            # Streams (events, build, ...) stay chunked: the SDK decodes them object by object only then.
            self.send_header(*(('Transfer-Encoding', 'chunked') if chunked else ('Content-Length', str(len(data)))))
            self.end_headers()
            self.wfile.write(b'%x\r\n%s\r\n0\r\n\r\n' % (len(data), data) if chunked and data else
                             b'0\r\n\r\n' if chunked else data)
        except OSError:  # the client gave up (its timeout)
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet: calls are recorded in EngineProxy.calls."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # The modules read with several requests in flight; the default backlog of 5 makes connects fail with EAGAIN.
    request_queue_size = 64
    proxy: 'EngineProxy'


class EngineProxy:
    """Context manager: the proxy runs while the block runs; ``calls`` holds (time, method, path, status)."""

    def __init__(self, listen: Path, upstream: str, rule: Optional[Rule] = None, delay: float = 0.0) -> None:
        self.listen = listen
        self.upstream = upstream
        self.rule = rule
        self.delay = delay
        self.calls: List[Tuple[float, str, str, int]] = []
        self._lock = threading.Lock()
        self._server: Optional[_Server] = None

    def forward(self, method: str, path: str, body: Optional[bytes],
                headers: Dict[str, str]) -> Tuple[int, List[Tuple[str, str]], bytes]:
        """Send the call to the real engine; its status, headers and whole body."""
        connection = _UnixConnection(self.upstream)
        try:
            sent = {name: value for name, value in headers.items() if name.lower() not in _HOP_HEADERS}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def record(self, method: str, path: str, status: int) -> None:
        """Note one call."""
        with self._lock:
            self.calls.append((time.monotonic(), method, path, status))

    def __enter__(self) -> 'EngineProxy':
        if self.listen.exists():
            self.listen.unlink()
        self._server = _Server(str(self.listen), _Handler)
        self._server.proxy = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self.listen.unlink(missing_ok=True)
