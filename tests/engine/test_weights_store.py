"""Download and import of weights files, against a local HTTP server and folders only (never the internet)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from weights_server import Served, entry_for, free_port, make_weights, no_proxies

from segstudio.core.errors import SegstudioError
from segstudio.engine import weights as W
from segstudio.engine import weights_store as S


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "weights"
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(d))
    return d


@pytest.fixture
def weights_file():
    data, name = make_weights()
    return data, name, entry_for(data, name)


def _left(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_from_a_mirror_with_progress_writes_the_verified_file(folder, server, weights_file):
    data, name, entry = weights_file
    server.files[f"/mirror/{name}"] = Served(data)
    calls = []
    path = S.download(entry, server.url + "/mirror/", progress=lambda done, total: calls.append((done, total)))
    assert path == folder / name and path.read_bytes() == data
    assert _left(folder) == [name]  # no temp file stays
    assert calls[-1] == (len(data), len(data)) and len(calls) >= 3  # one call per 1 MiB chunk
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~S._UMASK  # normal permissions, not mkstemp's 0600


def test_download_takes_the_files_own_url_and_skips_a_present_file(folder, server, weights_file):
    data, name, entry = weights_file
    server.files[f"/x/{name}"] = Served(data)
    S.download(entry, f"{server.url}/x/{name}")
    assert server.requests == [f"/x/{name}"]
    calls = []
    assert S.download(entry, f"{server.url}/x/{name}", progress=lambda d, t: calls.append((d, t))) == folder / name
    assert server.requests == [f"/x/{name}"] and calls == [(len(data), len(data))]  # nothing fetched again


def test_download_from_a_local_folder(folder, tmp_path, weights_file):
    data, name, entry = weights_file
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / name).write_bytes(data)
    assert S.download(entry, usb).read_bytes() == data
    other = entry_for(*make_weights(seed=1, size=100))
    with pytest.raises(S.DownloadError, match=f"mirror folder {usb} has no {other.file_name}"):
        S.download(other, usb)


def test_checksum_mismatch_is_refused_and_leaves_nothing(folder, server, weights_file):
    data, name, entry = weights_file
    server.files[f"/m/{name}"] = Served(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    with pytest.raises(S.DownloadError) as err:
        S.download(entry, server.url + "/m")
    msg = str(err.value)
    assert f"{server.url}/m/{name}" in msg and "does not match the published checksum" in msg and "\n" not in msg
    assert _left(folder) == []


def test_interrupted_transfer_leaves_nothing(folder, server, weights_file):
    data, name, entry = weights_file
    server.files[f"/m/{name}"] = Served(data, "truncate")  # Content-Length says all, the server closes at half
    with pytest.raises(S.DownloadError, match="interrupted") as err:
        S.download(entry, server.url + "/m")
    assert f"{server.url}/m/{name}" in str(err.value)
    assert _left(folder) == []


def test_unreachable_server_gives_one_clear_line_naming_the_url(folder, weights_file, monkeypatch):
    no_proxies(monkeypatch)
    _, name, entry = weights_file
    url = f"http://127.0.0.1:{free_port()}/models"
    with pytest.raises(S.DownloadError) as err:
        S.download(entry, url, timeout=5)
    msg = str(err.value)
    assert msg.startswith(f"cannot reach {url}/{name}:") and "refused" in msg.lower() and "\n" not in msg
    assert _left(folder) == []


def test_http_error_names_the_url(folder, server, weights_file):
    _, name, entry = weights_file
    with pytest.raises(S.DownloadError, match=rf"cannot download {server.url}/m/{name}: HTTP 404"):
        S.download(entry, server.url + "/m")
    assert _left(folder) == []


def test_cancel_stops_the_transfer_and_leaves_nothing(folder, server, weights_file):
    data, name, entry = weights_file
    server.files[f"/m/{name}"] = Served(data)
    seen = []
    with pytest.raises(S.DownloadCancelled, match="cancelled; nothing was saved"):
        S.download(entry, server.url + "/m", progress=lambda d, t: seen.append(d), cancel=lambda: bool(seen))
    assert seen == [S.CHUNK]  # stopped after the first chunk
    assert _left(folder) == []


def test_a_damaged_file_in_the_folder_is_replaced_atomically(folder, server, weights_file):
    data, name, entry = weights_file
    folder.mkdir()
    (folder / name).write_bytes(b"broken")
    with pytest.raises(SegstudioError, match="damaged"):
        W.verified_file(entry)
    server.files[f"/m/{name}"] = Served(data)
    assert S.download(entry, server.url + "/m").read_bytes() == data
    assert W.verified_file(entry) == folder / name


def test_stale_temp_files_of_a_killed_transfer_are_removed(folder, server, weights_file):
    data, name, entry = weights_file
    folder.mkdir()
    stale, fresh = folder / f"{S.TEMP_PREFIX}old{S.TEMP_SUFFIX}", folder / f"{S.TEMP_PREFIX}new{S.TEMP_SUFFIX}"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")  # maybe another transfer in progress: kept
    old = time.time() - 2 * S.STALE_TEMP_S
    os.utime(stale, (old, old))
    server.files[f"/m/{name}"] = Served(data)
    S.download(entry, server.url + "/m")
    assert _left(folder) == sorted([fresh.name, name])


def test_import_accepts_the_file_by_name_or_by_checksum(folder, tmp_path, weights_file, monkeypatch):
    data, name, entry = weights_file
    monkeypatch.setattr(W, "_official_registry", lambda: (entry,))
    src = tmp_path / "downloads" / name
    src.parent.mkdir()
    src.write_bytes(data)
    with pytest.raises(S.DownloadCancelled):
        S.import_file(src, cancel=lambda: True)
    assert _left(folder) == []
    got, path = S.import_file(src)
    assert got == entry and path == folder / name and path.read_bytes() == data
    path.unlink()
    renamed = tmp_path / "downloads" / "weights (1).pth"  # a browser's name for the same file
    src.rename(renamed)
    assert S.import_file(renamed)[1].read_bytes() == data
    assert _left(folder) == [name]


def test_import_refuses_a_wrong_file_and_leaves_nothing(folder, tmp_path, weights_file, monkeypatch):
    data, name, entry = weights_file
    monkeypatch.setattr(W, "_official_registry", lambda: (entry,))
    fake = tmp_path / name
    fake.write_bytes(data[:1000])  # right name, wrong content
    with pytest.raises(SegstudioError, match=rf"refusing {fake}: it is named like {entry.name} but its sha256"):
        S.import_file(fake)
    other = tmp_path / "model.pth"
    other.write_bytes(b"not weights")
    with pytest.raises(SegstudioError, match=rf"refusing {other}: not a known weights file \(sha256 "
                                             f"{hashlib.sha256(b'not weights').hexdigest()[:16]}"):
        S.import_file(other)
    with pytest.raises(SegstudioError, match="does not exist"):
        S.import_file(tmp_path / "missing.pth")
    assert _left(folder) == []


def test_mirror_urls():
    data, name = make_weights(size=10)
    entry = entry_for(data, name)
    assert S.source_url(entry, None) == entry.url
    assert S.source_url(entry, "https://mirror.example/torch/") == f"https://mirror.example/torch/{name}"
    assert S.source_url(entry, f"https://mirror.example/{name}") == f"https://mirror.example/{name}"
    assert S.source_url(entry, "/media/usb") == f"/media/usb/{name}"
