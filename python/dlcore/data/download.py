# Dataset downloads without torchvision: MNIST's four IDX files and the CIFAR-10 python tarball,
# fetched with urllib from a list of mirrors into torchvision's on-disk layout, which dlcore's
# readers (and torchvision itself) understand. Each file is verified against its published MD5,
# written through a temporary file and os.replace (so a reader never sees half a file), resumed with
# an HTTP Range request after a broken transfer when the server allows it, retried with backoff and
# then taken from the next mirror. Tarballs are extracted only after every member has been checked:
# no absolute paths, no "..", no links or device files, nothing outside the target directory.
#
# Environment overrides (handy for tests and for local mirrors):
#   DLCORE_MNIST_MIRRORS  comma- or space-separated base URLs tried in order (each ends with "/")
#   DLCORE_CIFAR10_URL    comma- or space-separated full URLs of cifar-10-python.tar.gz
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from typing import Iterable, Sequence

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# (file name, MD5) as published alongside the files (the same list torchvision checks).
MNIST_RESOURCES: tuple[tuple[str, str], ...] = (
    ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
)
CIFAR10_URLS: tuple[str, ...] = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
CIFAR10_FILENAME = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"

_CHUNK = 1 << 16
_USER_AGENT = "dlcore-download/1.0"


def _split_list(value: str) -> list[str]:
    return [item for item in value.replace(",", " ").split() if item]


def mnist_mirrors() -> list[str]:
    """MNIST base URLs: `$DLCORE_MNIST_MIRRORS` when set, else the built-in mirrors."""
    env = _split_list(os.environ.get("DLCORE_MNIST_MIRRORS", ""))
    mirrors = env if env else list(MNIST_MIRRORS)
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def cifar10_urls() -> list[str]:
    """CIFAR-10 tarball URLs: `$DLCORE_CIFAR10_URL` when set, else the official one."""
    env = _split_list(os.environ.get("DLCORE_CIFAR10_URL", ""))
    return env if env else list(CIFAR10_URLS)


def file_md5(path: str | os.PathLike) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty()


class _Progress:
    # A thin wrapper so that a missing or disabled tqdm costs nothing.
    def __init__(self, enabled: bool, total: int | None, initial: int, desc: str) -> None:
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True,
                                 unit_divisor=1024, leave=False)
            except Exception:  # tqdm is a dependency, but a download must not fail for a bar
                self._bar = None

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Incomplete(Exception):
    """The connection ended before the announced length; worth resuming."""


def _transfer(url: str, part: pathlib.Path, timeout: float, progress: bool) -> None:
    # One attempt: resume `part` from its current size when it already holds bytes.
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if have > 0:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have > 0:
            return  # nothing left to send: the partial file is complete (the MD5 check decides)
        raise
    with response:
        status = getattr(response, "status", 200)
        if have > 0 and status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {have}-"):
                raise _Incomplete(f"unexpected Content-Range {content_range!r} for a resume at byte {have}")
            mode = "ab"
        else:
            have, mode = 0, "wb"  # the server ignored the Range header: start over
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        total = have + expected if expected is not None else None
        bar = _Progress(progress, total, have, part.name.removesuffix(".part"))
        received = 0
        try:
            with open(part, mode) as out:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except Exception as error:  # http.client.IncompleteRead, resets, timeouts
                        raise _Incomplete(f"transfer broke after {have + received} bytes ({error})") from error
                    if not block:
                        break
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        finally:
            bar.close()
        if expected is not None and received < expected:
            raise _Incomplete(f"got {have + received} of {total} bytes")


def download_url(urls: Sequence[str], dest: str | os.PathLike, md5: str | None = None, *,
                 retries: int = 3, backoff: float = 1.0, timeout: float = 60.0,
                 progress: bool | None = None) -> pathlib.Path:
    """Fetch one file into `dest` from the first of `urls` that delivers it with the right MD5.

    Each mirror gets `retries` attempts (waiting `backoff`, 2*`backoff`, ... between them); a broken
    transfer is resumed with an HTTP Range request when the server supports it. The bytes go to
    `dest` + ".part" and are moved into place with os.replace only once verified, so `dest` is
    either absent or complete. Raises RuntimeError naming every URL tried (and the MD5s on a
    mismatch) when no mirror succeeds.
    """
    dest = pathlib.Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    show = _want_progress(progress)
    failures: list[str] = []
    for url in urls:
        if part.exists():
            part.unlink()  # a partial file from another mirror may not be the same bytes
        for attempt in range(max(1, retries)):
            try:
                _transfer(url, part, timeout, show)
            except urllib.error.HTTPError as error:
                failures.append(f"{url}: HTTP {error.code} {error.reason}")
                if 400 <= error.code < 500 and error.code not in (408, 429):
                    break  # the mirror does not have it: next mirror
            except (_Incomplete, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
                failures.append(f"{url}: {error}")
            else:
                actual = file_md5(part)
                if md5 is not None and actual.lower() != md5.lower():
                    part.unlink()
                    failures.append(f"{url}: MD5 mismatch for {dest.name} (expected {md5}, got {actual})")
                    break
                os.replace(part, dest)
                return dest
            if attempt + 1 < max(1, retries):
                time.sleep(backoff * (2 ** attempt))
    if part.exists():
        part.unlink()
    raise RuntimeError(f"could not download {dest.name} (expected MD5 {md5}):\n  " + "\n  ".join(failures))


def _gunzip_atomically(source: pathlib.Path, dest: pathlib.Path) -> None:
    handle, temp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(handle, "wb") as out, gzip.open(source, "rb") as stream:
            shutil.copyfileobj(stream, out, _CHUNK)
        os.replace(temp_name, dest)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def download_mnist(root: str | os.PathLike, *, mirrors: Sequence[str] | None = None,
                   resources: Iterable[tuple[str, str]] | None = None,
                   progress: bool | None = None, retries: int = 3, backoff: float = 1.0) -> pathlib.Path:
    """Fetch MNIST into `<root>/MNIST/raw/` (the .gz files, verified by MD5, and their decompressed
    copies, as torchvision leaves them). Files already present are kept. Returns the raw directory."""
    raw_dir = pathlib.Path(root) / "MNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    bases = list(mirrors) if mirrors is not None else mnist_mirrors()
    for name, md5 in (resources if resources is not None else MNIST_RESOURCES):
        gz_path = raw_dir / name
        plain_path = raw_dir / name.removesuffix(".gz")
        if plain_path.is_file():
            continue
        if not (gz_path.is_file() and file_md5(gz_path) == md5):
            download_url([base + name for base in bases], gz_path, md5, progress=progress,
                         retries=retries, backoff=backoff)
        _gunzip_atomically(gz_path, plain_path)
    return raw_dir


def _check_member(member: tarfile.TarInfo, target: pathlib.Path, archive: pathlib.Path) -> None:
    name = member.name
    parts = pathlib.PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise RuntimeError(f"{archive}: refusing member with an absolute path: {name!r}")
    if ".." in parts:
        raise RuntimeError(f"{archive}: refusing member that climbs out with '..': {name!r}")
    if member.issym() or member.islnk():
        raise RuntimeError(f"{archive}: refusing link member {name!r} -> {member.linkname!r}")
    if not (member.isfile() or member.isdir()):
        raise RuntimeError(f"{archive}: refusing special member (device, fifo, ...) {name!r}")
    resolved = (target / name).resolve()
    if resolved != target and target not in resolved.parents:
        raise RuntimeError(f"{archive}: refusing member {name!r}, which would land outside {target}")


def extract_tar_safely(archive: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Extract a (possibly compressed) tar archive into `target`, after checking every member.

    Refuses (RuntimeError, before anything is written) members with absolute paths, '..'
    components, symbolic or hard links, and device or fifo entries, and any member that would
    resolve outside `target`. Returns the extracted member names.
    """
    archive = pathlib.Path(archive)
    target = pathlib.Path(target)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, target, archive)
        for member in members:
            path = target / member.name
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # regular file, checked above
            with source, open(path, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
    return [m.name for m in members]


def download_cifar10(root: str | os.PathLike, *, urls: Sequence[str] | None = None, md5: str | None = None,
                     progress: bool | None = None, retries: int = 3, backoff: float = 1.0) -> pathlib.Path:
    """Fetch the CIFAR-10 python tarball into `<root>/` (verified by MD5) and extract it safely into
    `<root>/cifar-10-batches-py/`. An existing folder is kept. Returns that folder."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    folder = root / CIFAR10_FOLDER
    if folder.is_dir():
        return folder
    md5 = CIFAR10_MD5 if md5 is None else md5
    archive = root / CIFAR10_FILENAME
    if not (archive.is_file() and (md5 is None or file_md5(archive) == md5)):
        download_url(list(urls) if urls is not None else cifar10_urls(), archive, md5, progress=progress,
                     retries=retries, backoff=backoff)
    # Extract beside the final place, then move the folder in one rename: never half a folder.
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".cifar10-extract-", dir=root))
    try:
        extract_tar_safely(archive, staging)
        extracted = staging / CIFAR10_FOLDER
        if not extracted.is_dir():
            raise RuntimeError(f"{archive}: the archive has no {CIFAR10_FOLDER}/ folder")
        os.replace(extracted, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
