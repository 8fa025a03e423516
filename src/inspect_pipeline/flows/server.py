"""A local Prefect server under the data root, started and kept alive by `serve` when no PREFECT_API_URL is set.

Schedules only fire against a persistent server (an ephemeral one runs no scheduler), so `serve` starts one:
`prefect server start` in a child process with PREFECT_HOME in `.state/prefect` (local disk), telemetry off,
its output in `logs/prefect-server.log`. A watcher restarts it if it dies. No Prefect import here: this module
must be usable before PREFECT_API_URL is set for the rest of the process.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)


class LocalServer:
    """`prefect server start` as a supervised child process."""

    def __init__(self, home: Path, log_file: Path, host: str = "127.0.0.1", port: int = 4200,
                 startup_timeout: float = 180.0) -> None:
        self.home, self.log_file, self.host, self.port = home, log_file, host, port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}/api"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_API_HOST=self.host,
            PREFECT_SERVER_API_PORT=str(self.port),
            PYTHONIOENCODING="utf-8",
        )
        return env

    def start(self) -> None:
        """Start the server (unless one already answers at the address) and wait until it answers."""
        if self.healthy():
            log.info("Prefect 服务已在 %s 运行，直接使用", self.api_url)
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port)]
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(command, env=self.environment(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        log.info("启动本地 Prefect 服务（pid %s），界面 http://%s:%s", self.process.pid, self.host, self.port)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Prefect 服务启动失败（退出码 {self.process.returncode}），详见 {self.log_file}")
            time.sleep(0.5)
        raise RuntimeError(f"Prefect 服务 {self.startup_timeout:.0f} 秒内没有响应，详见 {self.log_file}")

    def supervise(self, every: float = 5.0) -> None:
        """Restart the server whenever its process ends, until `stop`."""
        def watch() -> None:
            while not self._stopping.wait(every):
                if self.process is not None and self.process.poll() is not None and not self._stopping.is_set():
                    log.error("Prefect 服务已退出（退出码 %s），正在重启", self.process.returncode)
                    try:
                        self.start()
                    except RuntimeError as exc:
                        log.error("%s", exc)
        self._watcher = threading.Thread(target=watch, name="prefect-server-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
