"""The app under a real uvicorn process on a free loopback port, for tests that need HTTP."""

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_served(env: Mapping[str, str], *, ready: str = "/health",
                   options: Sequence[str] = ()) -> Iterator[str]:
    """Yield the base URL of `uvicorn service.main:app` run with `env` once `ready` answers 200.

    Its stderr goes to a temporary file rather than a pipe nobody reads (a full pipe would
    stall the server), and is quoted when the server does not start.
    """
    port = free_port()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
             "--port", str(port), *options], env=dict(env), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=stderr)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + ready, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    log = stderr.read().decode(errors="replace")[-4000:]
                    raise RuntimeError(f"uvicorn did not start:\n{log}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
