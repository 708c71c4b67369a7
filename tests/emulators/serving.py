"""What every emulator does to be reachable: serve its handler on 127.0.0.1 in a thread, stop cleanly, and run
from `python -m tests.emulators.<crm>` until Ctrl-C."""

from __future__ import annotations

import functools
import re
import threading
from http.server import ThreadingHTTPServer
from typing import Self


@functools.cache
def path_pattern(template: str) -> re.Pattern[str]:
    """`/teams/{team_gid}/projects` as a pattern whose groups are the path's parameters."""
    return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))


class Served:
    """Mixin: `run_server(server, name)` runs a server in a daemon thread (port 0 becomes the port it got);
    `stop()` shuts it down. An emulator's `start()` builds its server and calls `run_server`."""

    port: int
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def run_server(self, server: ThreadingHTTPServer, name: str) -> None:
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_until_interrupted(emulator: Served) -> int:
    """Block until Ctrl-C, then stop `emulator` (the `__main__` of each emulator)."""
    print("Serving; press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
