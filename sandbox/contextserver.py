"""Serve a build context over HTTP on the sandbox gateway, for engines that cannot read an uploaded BuildKit context."""
import contextlib
import http.server
import threading
from typing import Iterator

from . import paths


@contextlib.contextmanager
def serve_context(context: bytes) -> Iterator[str]:
    """Serve ``context`` on the bridge address while the block runs; yield its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        """Answers every GET with the context tar."""

        def do_GET(self) -> None:  # pylint: disable=invalid-name
            """Send the context."""
            self.send_response(200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("Content-Length", str(len(context)))
            self.end_headers()
            self.wfile.write(context)

        def log_message(self, format: str, *args: object) -> None:  # pylint: disable=redefined-builtin
            """Keep quiet."""

    server = http.server.ThreadingHTTPServer((paths.gateway(), 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{paths.gateway()}:{server.server_address[1]}/context.tar"
    finally:
        server.shutdown()
        server.server_close()
