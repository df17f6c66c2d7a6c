"""`make data` (vae_utils.core.fetch): files checked by md5, downloads atomic, clear errors offline."""
import hashlib
import http.server
import threading

import pytest

from vae_utils.config import paths
from vae_utils.core import fetch

PAYLOAD = b"not really an archive, but bytes with a known md5\n" * 100
FILE = fetch.DataFile("mnist", "MNIST/raw/train-labels-idx1-ubyte.gz", hashlib.md5(PAYLOAD).hexdigest(), ())


@pytest.fixture
def server():
    """A web server on the loopback that serves PAYLOAD at /good and /bad (other bytes)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = PAYLOAD if self.path == "/good" else PAYLOAD[::-1]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def with_urls(*urls):
    return fetch.DataFile(FILE.dataset, FILE.path, FILE.md5, urls)


def test_offline_the_error_names_the_file_and_the_url_and_leaves_nothing(tmp_path):
    unreachable = "http://127.0.0.1:9/train-labels-idx1-ubyte.gz"      # port 9: nothing listens
    with pytest.raises(fetch.DataError) as err:
        fetch.ensure(with_urls(unreachable), tmp_path)
    message = str(err.value)
    assert str(tmp_path / FILE.path) in message and unreachable in message and "Offline?" in message
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []         # no partial file, no .part


def test_a_download_lands_whole_and_a_wrong_one_never_does(tmp_path, server):
    with pytest.raises(fetch.DataError, match="wrong md5"):
        fetch.ensure(with_urls(f"{server}/bad"), tmp_path)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []
    path = fetch.ensure(with_urls(f"{server}/bad", f"{server}/good"), tmp_path)    # the next mirror
    assert path.read_bytes() == PAYLOAD and [p.name for p in path.parent.iterdir()] == [path.name]
    assert fetch.ensure(with_urls("http://127.0.0.1:9/x"), tmp_path) == path    # present: no download


def test_a_corrupt_file_is_refused_with_its_md5_and_what_to_do(tmp_path):
    path = tmp_path / FILE.path
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD[:-10])                                   # a truncated download
    with pytest.raises(fetch.DataError, match=r"is corrupted: its md5 is [0-9a-f]{32}, expected .*make data"):
        fetch.ensure(with_urls("http://127.0.0.1:9/x"), tmp_path)


def test_a_folder_named_by_vae_data_dir_is_only_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(fetch, "data_files", lambda datasets=None: [with_urls("http://127.0.0.1:9/x")])
    with pytest.raises(fetch.DataError, match="is missing .*VAE_DATA_DIR is only read"):
        fetch.fetch()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (paths.data_dir() / "FreyFace").exists(), reason="the real data is not here (VAE_DATA_DIR)")
def test_the_real_data_folder_checks_out():
    done = fetch.fetch()
    assert {f.dataset for f, _ in done} == {"mnist", "fashion_mnist", "frey_face"} and len(done) == 9
