"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, pg_ctl start on a
free loopback port, trust auth, fsync off; `stop()` removes it. Needs the server binaries
(Debian `postgresql`; `.ci/system-deps` installs it). initdb refuses to run as root, so as root
the cluster runs as the `postgres` system user (the package creates it)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def server_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl (None when PostgreSQL is not installed)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def missing_reason() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if server_bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed (.ci/system-deps)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run initdb as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/optuna"

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bin_dir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.folder / "server.log"
        self._run("pg_ctl", "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "optuna")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """Start a cluster (see the module text); the caller stops it."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise RuntimeError(missing_reason() or "no PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="tradeterm-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    cluster = Cluster(folder, _free_port(), bin_dir)
    try:
        cluster.start()
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster
