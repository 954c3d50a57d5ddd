"""docs/_tools/site_server.py: the site as GitHub Pages serves it, for the tools and the browser tests."""

from __future__ import annotations

import gzip
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_tools"))
from site_server import serve


def get(url: str, gzip_ok: bool = False) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), b""


def stop(server) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<p>안녕</p>" * 50, encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG" + bytes(100))
    return tmp_path


def test_only_under_the_prefix(site):
    server, base = serve(site, "/book/")
    try:
        assert base.endswith("/book/")
        assert get(base + "index.html")[0] == 200
        assert get(base)[2] == (site / "index.html").read_bytes()  # a folder serves its index.html
        root = base.removesuffix("book/")
        assert get(root + "index.html")[0] == 404  # an absolute link that forgot the sub-path fails here too
    finally:
        stop(server)


def test_text_is_gzipped_when_asked_and_accepted(site):
    server, base = serve(site, gzip=True)
    try:
        status, headers, body = get(base + "index.html", gzip_ok=True)
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        assert gzip.decompress(body) == (site / "index.html").read_bytes()
        assert "Content-Encoding" not in get(base + "index.html")[1]  # the client did not accept it
        assert "Content-Encoding" not in get(base + "figure.png", gzip_ok=True)[1]  # PNG as it is
        assert get(base + "missing.html", gzip_ok=True)[0] == 404
    finally:
        stop(server)
    server, base = serve(site)
    try:
        assert "Content-Encoding" not in get(base + "index.html", gzip_ok=True)[1]
    finally:
        stop(server)


def test_a_prefix_must_be_a_folder():
    with pytest.raises(ValueError, match="prefix must start and end with '/', got 'book'"):
        serve(Path("."), "book")
