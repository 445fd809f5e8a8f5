"""The data by one command (issue 49), tested without a network: a server on the loopback
address serves a mirror of the pinned public files (``WORMLIB_MIRROR``), and the real download
path runs against it (registry, URLs, pooch, hashes, sizes, atomic rename, resume)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from matfixtures import nichols_fields, write_mat
from wormlib.data import (ChecksumError, DataNotFoundError, DownloadError, fetch, load_dag2023, load_kato2015,
                          load_nichols2017, study_dir)
from wormlib.data.__main__ import main as data_command
from wormlib.data.download import MIRROR_VAR, osf_file
from wormlib.data.registry import BOOK_FILES, REGISTRY, book_files

KATO_NPZ = "raw_full_data_worm_1.npz"


class Mirror:
    """path → bytes over HTTP on 127.0.0.1, with Range support, a log of requests, and two
    faults on demand: ``cut`` (path → bytes sent before the connection drops) and ``no_range``."""

    def __init__(self):
        self.routes: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.no_range = False
        self.log: list[tuple[str, str | None]] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                mirror.log.append((path, self.headers.get("Range")))
                body = mirror.routes.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                if self.headers.get("Range") and not mirror.no_range:
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                end = mirror.cut.pop(path, len(body))
                self.wfile.write(body[start:end])
                if end < len(body):
                    self.wfile.flush()
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, url: str, body: bytes) -> None:
        """Serve ``body`` where the mirror serves the public ``url``."""
        parts = urlsplit(url)
        self.routes[f"/{parts.netloc}{parts.path}"] = body

    def requests_for(self, name: str) -> list[str | None]:
        return [rng for path, rng in self.log if path.endswith("/" + name)]


@pytest.fixture(scope="module")
def real_files() -> dict[tuple[str, str], bytes]:
    """The team's copy of every pinned GitHub file (read before any test moves WORMLIB_DATA)."""
    return {key: (study_dir(f.study) / f.name).read_bytes() for key, f in REGISTRY.items() if f.url}


@pytest.fixture
def mirror(real_files, data_dir, monkeypatch):
    m = Mirror()
    for key, body in real_files.items():
        m.put(REGISTRY[key].url, body)
    monkeypatch.setenv(MIRROR_VAR, m.url)
    yield m
    m.server.shutdown()
    m.server.server_close()


def test_the_registry_pins_every_file_the_book_reads_in_code():
    required = [f for name in ("kato2015", "dag2023") for f in book_files(name)]
    assert len(required) == 24 and all(f.sha256 and f.size and f.url for f in required)
    for f in required:  # a URL at a commit, never at a branch
        assert f.url.startswith("https://raw.githubusercontent.com/") and len(f.url.split("/")[5]) == 40
    sums = {}
    for study in ("kato2015", "dag2023"):
        for line in (study_dir(study) / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split()
            sums[(study, name)] = digest
    assert sums == {(f.study, f.name): f.sha256 for f in required}  # the copy agrees with the pins


def test_one_command_fetches_every_required_file_and_the_book_loads_them(mirror, data_dir, capsys):
    assert data_command([]) == 0
    for name in ("kato2015", "dag2023"):
        folder = data_dir / name
        assert sorted(p.name for p in folder.iterdir()) == sorted([*BOOK_FILES[name], "SHA256SUMS"])
        listed = dict(reversed(line.split()) for line in (folder / "SHA256SUMS").read_text().splitlines())
        assert listed == {f.name: f.sha256 for f in book_files(name)}  # derived from the registry
    assert [r.n_frames for r in load_kato2015()] == [3137, 3134, 3059, 3311, 3021]
    assert len(load_dag2023()) == 7
    assert "kato2015: 16 files verified" in capsys.readouterr().out
    served = len(mirror.log)
    assert data_command([]) == 0 and len(mirror.log) == served  # present and verified: nothing fetched


def test_a_tampered_file_is_refused_and_nothing_is_kept(mirror, data_dir, real_files):
    body = bytearray(real_files[("kato2015", KATO_NPZ)])
    body[1000] ^= 0xFF  # same size, one byte changed
    mirror.put(REGISTRY[("kato2015", KATO_NPZ)].url, bytes(body))
    with pytest.raises(ChecksumError, match=KATO_NPZ):
        fetch("kato2015", KATO_NPZ)
    assert not any((data_dir / "kato2015").iterdir())  # no file, no part, no temporary


def test_a_file_longer_than_its_pin_is_cut_off_and_refused(mirror, data_dir, real_files):
    mirror.put(REGISTRY[("kato2015", "worm_0_y.csv")].url, real_files[("kato2015", "worm_0_y.csv")] + b"0," * 10)
    with pytest.raises(ChecksumError, match="more than the 6274 bytes"):
        fetch("kato2015", "worm_0_y.csv")
    assert not any((data_dir / "kato2015").iterdir())


def test_an_interrupted_download_resumes_where_it_stopped(mirror, data_dir, real_files):
    path = "/" + REGISTRY[("kato2015", KATO_NPZ)].url.split("://")[1]
    mirror.cut[path] = 1_000_000
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch("kato2015", KATO_NPZ)
    part = data_dir / "kato2015" / f"{KATO_NPZ}.part"
    kept = part.stat().st_size
    assert 500_000 < kept <= 1_000_000 and not (data_dir / "kato2015" / KATO_NPZ).exists()
    got = fetch("kato2015", KATO_NPZ)
    assert mirror.requests_for(KATO_NPZ) == [None, f"bytes={kept}-"]
    assert got.read_bytes() == real_files[("kato2015", KATO_NPZ)] and not part.exists()


def test_a_server_without_ranges_restarts_the_download(mirror, data_dir, real_files):
    path = "/" + REGISTRY[("kato2015", KATO_NPZ)].url.split("://")[1]
    mirror.cut[path], mirror.no_range = 500_000, True
    with pytest.raises(DownloadError):
        fetch("kato2015", KATO_NPZ)
    assert fetch("kato2015", KATO_NPZ).read_bytes() == real_files[("kato2015", KATO_NPZ)]


def test_without_a_network_the_command_fails_at_once_and_says_what_to_do(data_dir, monkeypatch, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(MIRROR_VAR, f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    assert data_command(["kato2015"]) == 2
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert "no network?" in err and "put it in <data dir>/kato2015/" in err
    assert not any((data_dir / "kato2015").glob("*"))


def test_an_optional_set_that_cannot_be_fetched_does_not_fail_the_command(mirror, capsys):
    assert data_command(["--optional"]) == 0  # the mirror has no OSF files
    assert "nichols2017: skipped (optional)" in capsys.readouterr().err


def test_a_damaged_local_copy_is_reported_not_replaced(mirror, data_dir):
    assert data_command(["kato2015"]) == 0
    (data_dir / "kato2015" / "worm_0_y.csv").write_text("5,5,5\n")
    with pytest.raises(ChecksumError, match="worm_0_y.csv"):
        fetch("kato2015", "worm_0_y.csv")


def test_editing_a_file_and_its_sums_line_together_is_caught(mirror, data_dir):
    """The attack of issue 49: SHA256SUMS is derived from the pins, never trusted over them."""
    assert data_command(["kato2015"]) == 0
    folder = data_dir / "kato2015"
    (folder / "worm_0_y.csv").write_text("6," * 3137 + "\n")
    forged = hashlib.sha256((folder / "worm_0_y.csv").read_bytes()).hexdigest()
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(f"{forged}  worm_0_y.csv\n" if "worm_0_y.csv" in l else l
                            for l in sums.read_text().splitlines(True)))
    with pytest.raises(ChecksumError, match="worm_0_y.csv"):
        load_kato2015(worms=("1",))


# ----- OSF ----------------------------------------------------------------------------------

def osf_entry(name: str, body: bytes, file_id: str, sha256: str | None = None) -> dict:
    return {"id": file_id, "type": "files",
            "attributes": {"kind": "file", "name": name, "size": len(body),
                           "extra": {"hashes": {"sha256": sha256 or hashlib.sha256(body).hexdigest()}}},
            "links": {"download": f"https://osf.io/download/{file_id}/"}}


def serve_osf_file(mirror: Mirror, remote, body: bytes, sha256: str | None = None) -> None:
    file_id = remote.osf[1]
    mirror.put(f"https://api.osf.io/v2/files/{file_id}/",
               json.dumps({"data": osf_entry(remote.name, body, file_id, sha256)}).encode())
    mirror.put(f"https://osf.io/download/{file_id}/", body)


def test_nichols_files_come_from_the_osf_api_with_its_hash(mirror, data_dir, tmp_path):
    bodies = {}
    for stem in ("n2_prelet", "npr1_prelet"):
        bodies[stem] = write_mat(tmp_path / f"{stem}.mat", stem, nichols_fields()).read_bytes()
        serve_osf_file(mirror, REGISTRY[("nichols2017", f"{stem}.mat")], bodies[stem])
    assert data_command(["nichols2017"]) == 0
    sums = (data_dir / "nichols2017" / "SHA256SUMS").read_text()
    for stem, body in bodies.items():
        assert f"{hashlib.sha256(body).hexdigest()}  {stem}.mat" in sums
    assert len(load_nichols2017()) == 4


def test_an_osf_file_that_does_not_match_the_hash_osf_lists_is_refused(mirror, data_dir, tmp_path):
    remote = REGISTRY[("nichols2017", "n2_prelet.mat")]
    serve_osf_file(mirror, remote, b"not the file", sha256="ab" * 32)
    with pytest.raises(ChecksumError, match="n2_prelet.mat"):
        fetch("nichols2017", "n2_prelet.mat")
    assert not (data_dir / "nichols2017" / "n2_prelet.mat").exists()


def test_the_official_kato_file_is_found_by_name_and_checked_against_its_pin(mirror, data_dir):
    """WT_NoStim.mat has no published file id: the resolver walks the project's folders and
    pages. OSF listing another hash than the pin is refused before any byte is downloaded."""
    remote = REGISTRY[("kato2015", "WT_NoStim.mat")]
    api = "https://api.osf.io/v2/nodes/2395t/files/osfstorage/"
    folder = "https://api.osf.io/v2/files/folder1/children/"
    mirror.put(api, json.dumps({"data": [osf_entry("README.txt", b"x", "r1")],
                                "links": {"next": "https://api.osf.io/page2/"}}).encode())
    mirror.put("https://api.osf.io/page2/", json.dumps({"data": [
        {"attributes": {"kind": "folder", "name": "data"},
         "relationships": {"files": {"links": {"related": {"href": folder}}}}}], "links": {}}).encode())
    mirror.put(folder, json.dumps({"data": [osf_entry("WT_NoStim.mat", b"other", "w1")]}).encode())
    with pytest.raises(ChecksumError, match="the published file changed"):
        osf_file(remote)
    assert not any(p.endswith("/download/w1/") for p, _ in mirror.log)
    mirror.put(folder, json.dumps({"data": [osf_entry("WT_NoStim.mat", b"other", "w1", remote.sha256)]}).encode())
    assert osf_file(remote) == ("https://osf.io/download/w1/", remote.sha256, 5)
    mirror.put("https://osf.io/download/w1/", b"other")  # OSF lists the pin but serves other bytes
    with pytest.raises(ChecksumError, match="WT_NoStim.mat"):
        fetch("kato2015", "WT_NoStim.mat")
    assert not any((data_dir / "kato2015").glob("WT_NoStim*"))


def test_an_unknown_file_is_refused(data_dir):
    with pytest.raises(DataNotFoundError, match="not a file wormlib can download"):
        fetch("kato2015", "nothing.npz")
