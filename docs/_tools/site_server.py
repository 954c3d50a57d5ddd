"""The built site on loopback, as GitHub Pages serves it: one server for the tools and the browser tests.

A project's Pages site lives under a sub-path (``https://OWNER.github.io/REPO/``), so the site is served
under ``prefix`` only: a request outside it gets a 404, and a link that forgot it shows up as an error
instead of working here and breaking there. With ``gzip=True`` text is compressed when the client
accepts it, as Pages compresses it (Lighthouse's byte counts need that; PNG is sent as it is)::

    server, base = serve(Path("docs/_build/html"))  # base: http://127.0.0.1:PORT/attention-book/
    ...
    server.shutdown()
"""

from __future__ import annotations

import functools
import gzip as _gzip
import http.server
import io
import threading
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "/attention-book/"
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".xml", ".map", ".ipynb", ".md", ".woff"}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Files of ``directory`` under ``prefix`` only; quiet; text gzipped when ``compress`` and accepted."""

    def __init__(self, *args, prefix: str = PREFIX, compress: bool = False, **kwargs) -> None:
        self.prefix, self.compress = prefix, compress
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        path = urlsplit(path).path
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "__outside_the_prefix__")
        return super().translate_path("/" + path[len(self.prefix):])

    def send_head(self):
        if not self.compress or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or path.suffix not in COMPRESSED:
            return super().send_head()
        body = _gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")  # as GitHub Pages
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(site: Path, prefix: str = PREFIX, *, gzip: bool = False) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` under ``prefix`` on a free loopback port, in a thread; the server and its base URL."""
    if not (prefix.startswith("/") and prefix.endswith("/")):
        msg = f"prefix must start and end with '/', got {prefix!r}"
        raise ValueError(msg)
    handler = functools.partial(SiteHandler, directory=str(site), prefix=prefix, compress=gzip)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}"
