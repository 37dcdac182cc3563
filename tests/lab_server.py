"""Run a JupyterLab server on localhost for the browser test, and stop it with its kernels.

The server listens on 127.0.0.1 on a free port, requires a random token, and
keeps its runtime, configuration, settings and workspace files in a temporary
folder, so it neither reads nor changes the user's Jupyter setup. It fetches
no news and checks for no updates, and its extension manager cannot install
from PyPI, so it sends no request off this machine.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

HOST = "127.0.0.1"


@dataclass
class LabServer:
    """A running server: its address, its token and the file its output goes to."""

    port: int
    token: str
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        """Return the address of ``path`` on this server with the token as a query parameter."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{separator}token={self.token}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """Return a TCP port on localhost that no process listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def request(server: LabServer, method: str, path: str, timeout_s: float = 5.0) -> int:
    """Send one authenticated request to the server and return the HTTP status."""
    api_request = urllib.request.Request(
        f"{server.base_url}{path}",
        method=method,
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(api_request, timeout=timeout_s) as response:
        return response.status


def wait_until_ready(server: LabServer, process: subprocess.Popen, timeout_s: float) -> None:
    """Poll the server's status endpoint until it responds, the process exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {process.returncode}:\n{server.log()}")
        try:
            if request(server, "GET", "/api/status", timeout_s=1.0) == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not respond on port {server.port} within {timeout_s} s:\n{server.log()}")


def stop(server: LabServer, process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Shut the server down through its API, then end what is left of it and its kernels."""
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if process.poll() is None:
        try:
            request(server, "POST", "/api/shutdown")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # the server is stuck or already gone, so it is terminated below
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
    remaining = [child for child in descendants if child.is_running()]
    for child in remaining:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            continue  # it exited after the check
    _, alive = psutil.wait_procs(remaining, timeout=timeout_s)
    for child in alive:
        child.kill()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_lab(root_dir: Path, work_dir: Path, env: dict[str, str], timeout_s: float = 60.0) -> Iterator[LabServer]:
    """Start JupyterLab serving ``root_dir``, yield it once it responds, and always stop it.

    ``work_dir`` receives the server's log and its Jupyter folders. ``env``
    adds to this process's environment; the kernels inherit it.
    """
    jupyter_dirs = {
        "JUPYTER_RUNTIME_DIR": work_dir / "runtime",
        "JUPYTER_CONFIG_DIR": work_dir / "config",
        "JUPYTERLAB_SETTINGS_DIR": work_dir / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": work_dir / "workspaces",
    }
    for folder in jupyter_dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    # Turn off JupyterLab's first-start question about news, whose toast would cover the notebook.
    notification = jupyter_dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    server = LabServer(port=free_port(), token=secrets.token_hex(24), log_path=work_dir / "jupyterlab.log")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={server.port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",  # CI runs as root
        "--ServerApp.terminals_enabled=False",
        f"--IdentityProvider.token={server.token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    process_env = {**os.environ, **env, **{name: str(folder) for name, folder in jupyter_dirs.items()}}
    with server.log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(server, process, timeout_s)
        yield server
    finally:
        stop(server, process)

