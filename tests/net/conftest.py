"""Fixtures of the outbound HTTP tests: file servers on 127.0.0.1 and a directory for temporary files."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.file_server import Route, Server


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], Server]]:
    servers: list[Server] = []

    def start(routes: dict[str, Route]) -> Server:
        server = Server(routes)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def download_dir(tmp_path: Path) -> Path:
    """Where downloads put their temporary files, to prove none is left behind."""
    directory = tmp_path / "downloads"
    directory.mkdir()
    return directory
