"""A throwaway PostgreSQL cluster for tests, CI and benchmarks, run as an unprivileged user.

PostgreSQL refuses to run as root, and CI runs as root: there the cluster belongs to the
``postgres`` system user that Debian's package creates (``runuser``). The cluster lives in a
fresh temporary folder, listens on 127.0.0.1 at a free port with trust authentication (only
local processes can reach it), and is removed when stopped.

    python -m tests.pg_cluster start DIR   # prints the server URL; CI exports it
    python -m tests.pg_cluster stop DIR

``TEST_POSTGRES_URL`` (a server URL, any database name) makes the test fixtures use that
server instead of starting their own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url

ENV_URL = "TEST_POSTGRES_URL"
SYSTEM_USER = "postgres"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# Speed over safety for the test cluster, which is thrown away; the crash test keeps the
# defaults (fsync on), since it checks what survives a crash.
FAST_SETTINGS = ("fsync=off", "full_page_writes=off", "synchronous_commit=off")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL here: the message is the skip reason."""


def find_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout).

    Raises:
        PostgresUnavailable: neither is found.
    """
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    for folder in sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")),
                         key=lambda p: p.parent.name, reverse=True):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
                              f"{PG_BIN_GLOB}); install Debian's postgresql or set {ENV_URL}")


def _run_as() -> list[str]:
    """The command prefix that drops root to the ``postgres`` user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError as exc:
        raise PostgresUnavailable(f"running as root and no '{SYSTEM_USER}' user to run "
                                  "PostgreSQL as (it refuses root)") from exc
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root without runuser to drop to the "
                                  f"'{SYSTEM_USER}' user")
    return [runuser, "-u", SYSTEM_USER, "--"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running (or stopped) cluster in ``folder``: data in ``folder/data``."""

    folder: Path
    port: int
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        command = [*_run_as(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {done.stderr.strip()}\n{log}")

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-l", str(self.log_file))

    def stop(self, mode: str = "fast") -> None:
        """``mode`` "immediate" is a crash: the server quits without a checkpoint."""
        self._pg_ctl("stop", "-w", "-m", mode)

    def destroy(self) -> None:
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


def init_cluster(folder: Path | None = None, *, fast: bool = True) -> Cluster:
    """Create and start a cluster in ``folder`` (a new temporary one when None).

    Raises:
        PostgresUnavailable: PostgreSQL is not installed or cannot run here.
    """
    bin_dir = find_binaries()
    prefix = _run_as()
    folder = Path(folder or tempfile.mkdtemp(prefix="pg-cluster-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if prefix:
        owner = pwd.getpwnam(SYSTEM_USER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(0o755)
    cluster = Cluster(folder, _free_port(), bin_dir)
    done = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(cluster.data_dir),
                           "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale",
                           "--no-instructions"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
    settings = [f"port = {cluster.port}", "listen_addresses = '127.0.0.1'",
                f"unix_socket_directories = '{folder}'", "max_connections = 300",
                "shared_buffers = 128MB"]
    settings += [f"{s.split('=')[0]} = {s.split('=')[1]}" for s in FAST_SETTINGS] if fast \
        else []
    conf = cluster.data_dir / "postgresql.conf"
    text = conf.read_text() + "\n# tests/pg_cluster.py\n" + "\n".join(settings) + "\n"
    subprocess.run([*prefix, "tee", str(conf)], input=text, text=True, check=True,
                   capture_output=True)
    cluster.start()
    return cluster


def wait_until_up(url: str, seconds: float = 30) -> None:
    """Wait until the server at ``url`` accepts connections."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                with engine.connect():
                    return
            except sqlalchemy.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        engine.dispose()


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server (password kept)."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (a copy of ``template`` when given); returns its URL."""
    engine = sqlalchemy.create_engine(with_database(server_url, "postgres"),
                                      isolation_level="AUTOCOMMIT",
                                      poolclass=sqlalchemy.pool.NullPool)
    clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
    finally:
        engine.dispose()
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    engine = sqlalchemy.create_engine(with_database(server_url, "postgres"),
                                      isolation_level="AUTOCOMMIT",
                                      poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.pg_cluster start|stop DIR", file=sys.stderr)
        return 2
    folder = Path(argv[1])
    if argv[0] == "start":
        try:
            cluster = init_cluster(folder)
        except PostgresUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        (folder / "port").write_text(str(cluster.port))
        print(cluster.url())
        return 0
    port_file = folder / "port"
    if port_file.exists():
        Cluster(folder.resolve(), int(port_file.read_text()), find_binaries()).destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
