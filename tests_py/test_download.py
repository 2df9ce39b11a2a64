# Tests for dlcore.data.download, the torchvision-free dataset downloader, against a local HTTP
# server on 127.0.0.1 (a thread, random port; no outside network): MNIST and CIFAR-10 land in
# torchvision's layout and load, a mirror that 404s falls through to the next, a transfer cut short
# is resumed with a Range request, an MD5 mismatch is a clear error that leaves no file behind, and
# hostile tarballs (path traversal, absolute path, symlink out) are refused with nothing written.
from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib
import io
import pathlib
import pickle
import tarfile
import threading

import numpy as np
import pytest

from dlcore.data import CIFAR10, MNIST
from dlcore.data import download as dldownload
from dlcore.vision import datasets


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate_once: set[str] = set()
    ignore_range = False
    ranges: list[tuple[str, str | None]] = []

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        range_header = self.headers.get("Range")
        self.ranges.append((self.path, range_header))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if range_header and not self.ignore_range and range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[len("bytes="):-1])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in self.truncate_once and start == 0:
            self.truncate_once.discard(self.path)
            self.wfile.write(body[: len(body) // 2])  # announce it all, send half, hang up
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server():
    _Handler.files, _Handler.truncate_once, _Handler.ranges, _Handler.ignore_range = {}, set(), [], False
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_gz(magic: int, array: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def tar_bytes(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, content in entries:
            if content is not None:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def file_entry(name: str, content: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), content


def test_mnist_download_falls_through_mirrors_into_torchvision_layout(server, tmp_path, monkeypatch):
    _, base = server
    rng = np.random.default_rng(0)
    files = {}
    for prefix, count in (("train", 6), ("t10k", 4)):
        files[f"{prefix}-images-idx3-ubyte.gz"] = idx_gz(2051, rng.integers(0, 256, (count, 28, 28)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = idx_gz(2049, rng.integers(0, 10, (count,)))
    _Handler.files = {f"/mnist/{name}": content for name, content in files.items()}
    monkeypatch.setattr(dldownload, "MNIST_RESOURCES", tuple((n, md5(c)) for n, c in files.items()))
    monkeypatch.setenv("DLCORE_MNIST_MIRRORS", f"{base}/gone/,{base}/mnist")  # first mirror 404s
    train, test = MNIST(tmp_path, train=True, download=True), MNIST(tmp_path, train=False, download=True)
    assert len(train) == 6 and len(test) == 4
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(list(files) + [n[:-3] for n in files])
    assert any(path.startswith("/gone/") for path, _ in _Handler.ranges)
    requests = len(_Handler.ranges)
    MNIST(tmp_path, download=True)  # present: nothing fetched again
    datasets.MNIST(tmp_path, train=False, download=True)  # the torchvision-style name is the same reader
    assert len(_Handler.ranges) == requests


def test_truncated_transfer_is_resumed_with_range(server, tmp_path):
    _, base = server
    body = bytes(range(256)) * 400
    _Handler.files = {"/big.bin": body}
    _Handler.truncate_once = {"/big.bin"}
    dest = dldownload.download_url([f"{base}/big.bin"], tmp_path / "big.bin", md5(body), backoff=0.0,
                                   progress=False)
    assert dest.read_bytes() == body
    assert ("/big.bin", f"bytes={len(body) // 2}-") in _Handler.ranges
    assert not (tmp_path / "big.bin.part").exists()


def test_server_without_range_support_restarts_the_transfer(server, tmp_path):
    _, base = server
    body = bytes(range(256)) * 300
    _Handler.files, _Handler.truncate_once, _Handler.ignore_range = {"/f.bin": body}, {"/f.bin"}, True
    dest = dldownload.download_url([f"{base}/f.bin"], tmp_path / "f.bin", md5(body), backoff=0.0, progress=False)
    assert dest.read_bytes() == body  # the 200 answer to the Range request replaced the partial file


def test_md5_mismatch_names_the_file_and_leaves_nothing(server, tmp_path):
    _, base = server
    good = b"the real content" * 100
    _Handler.files = {"/data.gz": good[:-1] + b"X"}
    with pytest.raises(RuntimeError) as info:
        dldownload.download_url([f"{base}/data.gz"], tmp_path / "data.gz", md5(good), backoff=0.0, progress=False)
    message = str(info.value)
    assert "data.gz" in message and md5(good) in message and md5(good[:-1] + b"X") in message
    assert f"{base}/data.gz" in message
    assert list(tmp_path.iterdir()) == []


def test_unreachable_mirror_is_a_runtime_error_naming_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MNIST_MIRRORS", "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(RuntimeError, match=r"127\.0\.0\.1:9/train-images-idx3-ubyte\.gz"):
        dldownload.download_mnist(tmp_path, retries=1, backoff=0.0, progress=False)


def cifar_tarball(per_batch: int = 3) -> bytes:
    rng = np.random.default_rng(1)
    entries = [(tarfile.TarInfo("cifar-10-batches-py"), None)]
    entries[0][0].type = tarfile.DIRTYPE
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 b"labels": rng.integers(0, 10, per_batch).tolist()}
        entries.append(file_entry(f"cifar-10-batches-py/{name}", pickle.dumps(batch)))
    return tar_bytes(entries)


def test_cifar10_download_and_extract(server, tmp_path, monkeypatch):
    _, base = server
    tarball = cifar_tarball()
    _Handler.files = {"/cifar-10-python.tar.gz": tarball}
    monkeypatch.setattr(dldownload, "CIFAR10_MD5", md5(tarball))
    monkeypatch.setenv("DLCORE_CIFAR10_URL", f"{base}/cifar-10-python.tar.gz")
    train = CIFAR10(tmp_path, train=True, download=True)
    test = CIFAR10(tmp_path, train=False, download=True)
    assert len(train) == 15 and len(test) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def _hostile(kind: str) -> bytes:
    if kind == "traversal":
        return tar_bytes([file_entry("cifar-10-batches-py/../../evil", b"pwned")])
    if kind == "absolute":
        return tar_bytes([file_entry("/tmp/dlcore-evil-absolute", b"pwned")])
    link = tarfile.TarInfo("cifar-10-batches-py/escape")
    link.type, link.linkname = tarfile.SYMTYPE, "../../.."
    return tar_bytes([(link, None), file_entry("cifar-10-batches-py/escape/evil", b"pwned")])


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink"])
def test_hostile_tarball_is_refused(server, tmp_path, monkeypatch, kind):
    _, base = server
    tarball = _hostile(kind)
    _Handler.files = {"/cifar-10-python.tar.gz": tarball}
    root = tmp_path / "inner" / "root"
    monkeypatch.setenv("DLCORE_CIFAR10_URL", f"{base}/cifar-10-python.tar.gz")
    with pytest.raises(RuntimeError, match="refusing"):
        dldownload.download_cifar10(root, md5=md5(tarball), progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-python.tar.gz"]  # staging removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inner"]
    assert sorted(p.name for p in (tmp_path / "inner").iterdir()) == ["root"]
    assert not pathlib.Path("/tmp/dlcore-evil-absolute").exists()
    with pytest.raises(RuntimeError, match="refusing"):  # and the extractor alone, into a fresh target
        dldownload.extract_tar_safely(root / "cifar-10-python.tar.gz", tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


@pytest.mark.parametrize("script", ["train_mnist", "train_cifar10"])
def test_trainers_accept_download_flag(script):
    module = importlib.import_module(f"dlcore.cli.{script}")
    assert module.parse_args(["--download"]).download is True
    assert module.parse_args([]).download is False


def test_trainer_download_failure_is_a_usage_failure(server, tmp_path, monkeypatch):
    from dlcore.cli import UsageFailure
    from dlcore.cli.train_mnist import main
    _, base = server
    monkeypatch.setenv("DLCORE_MNIST_MIRRORS", f"{base}/gone/")
    with pytest.raises(UsageFailure, match=r"could not download train-images-idx3-ubyte\.gz"):
        main(["--download", "--device", "cpu", "--no-progress", "--data", str(tmp_path / "data"),
              "--out", str(tmp_path / "out"), "--no-tensorboard", "--no-plots"])
    assert any(path == "/gone/train-images-idx3-ubyte.gz" for path, _ in _Handler.ranges)
