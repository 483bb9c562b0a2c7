"""Real servers the tests start and stop themselves: PostgreSQL (Debian's
package) on loopback.

PostgreSQL refuses to run as root, so when the tests run as root the cluster
belongs to the ``postgres`` account the Debian package creates (or ``nobody``),
in a folder under /tmp that account can reach. The server trusts loopback
connections, listens on a free port and is stopped (and its folder removed)
when the test session ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def _postgres_bin(program: str) -> str:
    found = shutil.which(program) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {program} is not installed: `make test` installs Debian's "
            "postgresql package (apt-get install postgresql)"
        )
    return found


def _run(command: list[str]) -> None:
    """Run a server tool; on failure, say what it printed."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One PostgreSQL cluster: ``new_database()`` gives each test its own database."""

    folder: Path
    port: int
    user: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://finegate@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    @classmethod
    def start(cls) -> PostgresServer:
        user = None
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                user = "nobody"
        folder = Path(tempfile.mkdtemp(prefix="finegate-pg-"))
        server = cls(folder, free_port(), user)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        data = folder / "data"
        _run(
            server._as_owner(
                _postgres_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "finegate",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        )
        options = (
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            server._as_owner(
                _postgres_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "server.log"),
                "-w",
                "start",
            )
        )
        return server

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(
                _postgres_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"
            ),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL (psycopg 3)."""
        from sqlalchemy import create_engine, text

        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://finegate@127.0.0.1:{self.port}/{name}"


@dataclass
class MlflowServer:
    """A real ``mlflow server`` process on loopback, its tracking and registry
    store in a PostgreSQL database (as a team runs it)."""

    process: subprocess.Popen
    port: int
    folder: Path

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, backend_uri: str) -> MlflowServer:
        import sys
        import time
        import urllib.request

        folder = Path(tempfile.mkdtemp(prefix="finegate-mlflow-"))
        port = free_port()
        log = (folder / "server.log").open("w")
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--backend-store-uri",
                backend_uri,
                "--default-artifact-root",
                (folder / "artifacts").as_uri(),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        )
        server = cls(process, port, folder)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    "mlflow server exited: " + (folder / "server.log").read_text()[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{server.uri}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return server
            except OSError:
                time.sleep(0.5)
        server.stop()
        raise RuntimeError("mlflow server did not answer /health within 180 s")

    def clear(self) -> None:
        """Delete every registered model: each test starts from an empty registry."""
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        for model in client.search_registered_models():
            client.delete_registered_model(model.name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
