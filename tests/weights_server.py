"""Test helpers for pretrained weights: a bounded HTTP server on 127.0.0.1 and registry entries for test files.

Nothing here reaches outside the machine: the server binds 127.0.0.1 on a free port, serves only
the bytes it was given, and is shut down by the fixture that starts it.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from dataclasses import dataclass, field

import numpy as np

from segstudio.engine.weights import WeightsEntry


def make_weights(name: str = "testnet-{h}.pth", size: int = 2_500_000, seed: int = 0) -> tuple[bytes, str]:
    """Random bytes standing in for a weights file, and the file name carrying their sha256 prefix."""
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    return data, name.format(h=hashlib.sha256(data).hexdigest()[:8])


def entry_for(data: bytes, file_name: str, models: tuple[str, ...] = ("lraspp_mobilenet_v3",),
              name: str = "TestNet_Weights.TEST_V1") -> WeightsEntry:
    """A registry entry for ``data`` (published checksum = the sha256 prefix in ``file_name``)."""
    prefix = file_name.rsplit("-", 1)[1].split(".")[0]
    assert hashlib.sha256(data).hexdigest().startswith(prefix)
    return WeightsEntry(name, file_name, f"http://127.0.0.1:9/never/{file_name}", prefix, len(data), models,
                        "test weights")


@dataclass
class Served:
    """One served path: its bytes and how to misbehave ("ok" | "truncate" (close mid-file) | "404")."""

    data: bytes
    mode: str = "ok"


@dataclass
class LocalServer:
    """``http.server`` in a daemon thread on 127.0.0.1; ``files`` maps URL paths to :class:`Served`."""

    files: dict[str, Served] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def start(self) -> "LocalServer":
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                item = server.files.get(self.path)
                if item is None or item.mode == "404":
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(item.data)))
                self.end_headers()
                body = item.data[: len(item.data) // 2] if item.mode == "truncate" else item.data
                self.wfile.write(body)
                self.wfile.flush()
                if item.mode == "truncate":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_proxies(monkeypatch) -> None:
    """Requests to 127.0.0.1 must never go through a proxy from the environment."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
