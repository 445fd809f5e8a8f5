"""The data by one command: every file of :mod:`.registry` downloaded from its pinned public
source with pooch, checked against its SHA-256 and size, atomically (issue 49).

* ``python -m wormlib.data`` (``make data``) fetches what the book reads; files already present
  in a data directory (:func:`wormlib.data.locate.data_dirs`) and matching their pins are kept.
* A download goes to ``<file>.part`` beside its target and resumes from there with an HTTP
  ``Range`` request after an interruption; only a complete file whose hash matches is renamed
  into place (pooch's temporary file), so a failure keeps nothing but the resumable part, and a
  wrong hash keeps nothing at all.
* No retries and short timeouts: without a network the command fails at once with a
  :class:`DownloadError` that says where to put the files by hand.
* OSF files: :func:`osf_file` reads the download link and the SHA-256 from the OSF API and checks
  that hash against the pin where one exists.
* ``WORMLIB_MIRROR``: a base URL that serves the same paths (``<mirror>/<host>/<path>``), for a
  lab's mirror and for the tests' server on the loopback address.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ChecksumError, DataError, DataNotFoundError, LayoutError
from .locate import PINNED_SHA256, download_dir, local_path, read_sha256sums
from .registry import OSF_API, REGISTRY, RemoteFile

MIRROR_VAR = "WORMLIB_MIRROR"
TIMEOUT_S = (10, 60)
"""(connect, read) seconds: a dead network fails at once, a stalled server within a minute."""
CHUNK = 1 << 16


class DownloadError(DataError):
    """A file could not be downloaded (no network, a server error, an interrupted transfer)."""


def mirrored(url: str) -> str:
    """``url`` as served by ``WORMLIB_MIRROR`` (``<mirror>/<host>/<path>``), or itself."""
    mirror = os.environ.get(MIRROR_VAR, "").strip().rstrip("/")
    if not mirror:
        return url
    parts = urlsplit(url)
    return f"{mirror}/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _by_hand(remote: RemoteFile) -> str:
    return (f"Without a network, download {remote.where} on another machine and put it in "
            f"<data dir>/{remote.study}/ (the data directories: WORMLIB_DATA, else ./data); "
            "`python -m wormlib.data --list` prints every file's address and SHA-256.")


def _get(url: str, remote: RemoteFile, **kwargs):
    import requests

    try:
        response = requests.get(url, timeout=TIMEOUT_S, **kwargs)
    except requests.RequestException as exc:
        reason = ("no connection to " + urlsplit(url).netloc + " (no network?)"
                  if isinstance(exc, (requests.ConnectionError, requests.Timeout)) else f"{type(exc).__name__}: {exc}")
        raise DownloadError(f"Cannot download {remote.study}/{remote.name} from {url}: {reason}. "
                            f"{_by_hand(remote)}") from exc
    if response.status_code not in (200, 206, 416):
        response.close()
        raise DownloadError(f"{url} answered HTTP {response.status_code} for {remote.study}/{remote.name}. "
                            f"{_by_hand(remote)}")
    return response


# --------------------------------------------------------------------------------------------
# OSF
# --------------------------------------------------------------------------------------------

def _osf_json(url: str, remote: RemoteFile) -> dict:
    response = _get(mirrored(url), remote)
    try:
        return response.json()
    except ValueError as exc:
        raise DownloadError(f"{url}: the OSF API did not answer JSON ({exc}).") from exc


def _osf_entries(project: str, remote: RemoteFile):
    """Every file entry of an OSF project's storage, folders followed, pages followed."""
    queue = [f"{OSF_API}/nodes/{project}/files/osfstorage/"]
    while queue:
        page = _osf_json(queue.pop(0), remote)
        for entry in page.get("data", []):
            attributes = entry.get("attributes", {})
            if attributes.get("kind") == "folder":
                queue.append(entry["relationships"]["files"]["links"]["related"]["href"])
            else:
                yield entry
        if page.get("links", {}).get("next"):
            queue.append(page["links"]["next"])


def osf_file(remote: RemoteFile) -> tuple[str, str, int | None]:
    """(download URL, SHA-256, size) of an OSF file, from the OSF API.

    By file id where the registry has one, else by name in the project. The API's SHA-256 must
    equal the registry's pin where one exists (``ChecksumError`` otherwise: OSF now serves a
    different file than the one the book was computed on).
    """
    project, file_id = remote.osf
    if file_id:
        entries = [_osf_json(f"{OSF_API}/files/{file_id}/", remote)["data"]]
    else:
        entries = [e for e in _osf_entries(project, remote) if e["attributes"].get("name") == remote.name]
        if remote.sha256 and len(entries) > 1:
            entries = [e for e in entries if _osf_sha256(e) == remote.sha256] or entries
    if not entries:
        raise DataNotFoundError(f"The OSF project {project} has no file named {remote.name}. {_by_hand(remote)}")
    if len(entries) > 1:
        raise LayoutError(f"The OSF project {project} has {len(entries)} files named {remote.name} "
                          "with different contents; which one is meant is ambiguous.")
    entry = entries[0]
    name, digest = entry["attributes"].get("name"), _osf_sha256(entry)
    if name != remote.name:
        raise LayoutError(f"OSF file {file_id} is named {name!r}, not {remote.name!r}: the registry's id is wrong.")
    if not digest:
        raise ChecksumError(f"OSF lists no SHA-256 for {remote.study}/{remote.name}; it is not downloaded unverified.")
    if remote.sha256 and digest != remote.sha256:
        raise ChecksumError(f"OSF lists {remote.study}/{remote.name} with SHA-256 {digest}, but wormlib pins "
                            f"{remote.sha256}: the published file changed. Nothing was downloaded.")
    return entry["links"]["download"], digest, entry["attributes"].get("size")


def _osf_sha256(entry: dict) -> str | None:
    digest = (entry.get("attributes", {}).get("extra", {}).get("hashes", {}) or {}).get("sha256")
    return digest.lower() if isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest) else None


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------

class ResumableDownloader:
    """A pooch downloader that writes to ``<target>.part`` and resumes it (HTTP ``Range``).

    Pooch calls it with its temporary file; the part is moved there only when complete, and pooch
    then checks the hash and renames the file into place (or deletes it)."""

    def __init__(self, remote: RemoteFile, size: int | None, target: Path):
        self.remote, self.size = remote, size
        self.part = target.with_name(target.name + ".part")

    def __call__(self, url: str, output_file: str, pooch=None, check_only: bool = False) -> None:
        from tqdm.auto import tqdm

        have = self.part.stat().st_size if self.part.exists() else 0
        response = _get(url, self.remote, stream=True, headers={"Range": f"bytes={have}-"} if have else {})
        with response:
            if response.status_code == 416 or (have and response.status_code == 200):
                have = 0  # the server cannot resume (or the part is already too long): start again
                if response.status_code == 416:
                    self.part.unlink()
                    return self(url, output_file, pooch)
            mode = "ab" if have else "wb"
            with open(self.part, mode) as out, tqdm(total=self.size, initial=have, unit="B", unit_scale=True,
                                                     desc=self.remote.name, disable=None, leave=False) as bar:
                try:
                    for block in response.iter_content(CHUNK):
                        out.write(block)
                        have += len(block)
                        bar.update(len(block))
                        if self.size is not None and have > self.size:
                            break
                except Exception as exc:  # a connection dropped mid-file: keep the part to resume
                    raise DownloadError(
                        f"The download of {self.remote.study}/{self.remote.name} from {url} stopped after "
                        f"{have} bytes ({type(exc).__name__}); run the same command again to resume it.") from exc
        if self.size is not None and have != self.size:
            if have > self.size:
                self.part.unlink()
                raise ChecksumError(f"{url} sent more than the {self.size} bytes pinned for "
                                    f"{self.remote.study}/{self.remote.name}; nothing was kept.")
            raise DownloadError(f"The download of {self.remote.study}/{self.remote.name} ended after {have} of "
                                f"{self.size} bytes; run the same command again to resume it.")
        os.replace(self.part, output_file)


def fetch(study: str, name: str, sha256: str | None = None) -> Path:
    """A registry file, verified: the copy already in a data directory, else downloaded into
    the download directory (pooch; resumable; hash and size checked; atomic).

    ``sha256``, if given, must agree with the pin (or, for an unpinned OSF file, with the hash the
    OSF API lists). The folder's ``SHA256SUMS`` is rewritten from the registry afterwards.
    """
    import pooch

    if (study, name) not in REGISTRY:
        raise DataNotFoundError(f"{study}/{name} is not a file wormlib can download; known files: "
                                f"{sorted(f'{s}/{n}' for s, n in REGISTRY)}")
    remote = REGISTRY[(study, name)]
    if sha256 and remote.sha256 and sha256.lower() != remote.sha256:
        raise ChecksumError(f"{study}/{name}: the SHA-256 you passed differs from the one pinned in wormlib "
                            f"({remote.sha256}).")
    try:  # a verified copy in some data directory (a damaged one raises ChecksumError: never replaced)
        return local_path(study, name)
    except DataNotFoundError:
        pass
    if remote.url:
        url, expected, size = mirrored(remote.url), remote.sha256, remote.size
    else:
        link, expected, size = osf_file(remote)
        url = mirrored(link)
    if sha256 and sha256.lower() != expected:
        raise ChecksumError(f"{study}/{name}: the SHA-256 you passed differs from the one OSF lists ({expected}).")
    folder = download_dir() / study
    folder.mkdir(parents=True, exist_ok=True)
    fetcher = pooch.create(path=folder, base_url="", registry={name: f"sha256:{expected}"}, urls={name: url},
                           retry_if_failed=0)
    try:
        path = Path(fetcher.fetch(name, downloader=ResumableDownloader(remote, size, folder / name)))
    except ValueError as exc:  # pooch: the hash differs; its temporary file is already deleted
        raise ChecksumError(f"{study}/{name} downloaded from {url} does not have the SHA-256 {expected}; "
                            "nothing was kept.") from exc
    write_sha256sums(folder, {name: expected})
    return path


def write_sha256sums(folder: Path, unpinned: dict[str, str] | None = None) -> None:
    """``folder/SHA256SUMS`` derived from the registry: the pinned hash of every registry file
    present in ``folder``, plus ``unpinned`` (file → hash the OSF API listed) and the lines an
    earlier download wrote for unpinned files. Written atomically."""
    from ..atomic import write_text_atomic

    study = folder.name
    listed = read_sha256sums(folder) if (folder / "SHA256SUMS").exists() else {}
    keep = {n: d for n, d in listed.items() if (study, n) in REGISTRY and (study, n) not in PINNED_SHA256}
    keep.update(unpinned or {})
    keep.update({n: PINNED_SHA256[(study, n)] for s, n in REGISTRY if s == study and (study, n) in PINNED_SHA256
                 and (folder / n).exists()})
    write_text_atomic(folder / "SHA256SUMS", "".join(f"{d}  {n}\n" for n, d in sorted(keep.items())))
