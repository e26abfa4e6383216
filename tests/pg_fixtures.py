"""A throwaway PostgreSQL server on loopback for the PostgreSQL tests.

`PgServer.start()` runs the machine's own initdb / pg_ctl (Debian: `pg_config --bindir`) in a
fresh folder, listening on 127.0.0.1 only, on a free port, with its socket in that folder.
initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
`server.create_database(name)` gives each test its own database URL. Only a machine without
PostgreSQL binaries (or without a user to run them as) skips, with the reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "kc_test_admin"


def _bindir() -> Path | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    folder: Path
    port: int
    bindir: Path
    run_as: str | None

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if _bindir() is None:
            return "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and no `postgres` user to run initdb as"
            if not shutil.which("runuser"):
                return "running as root and no runuser to run initdb as `postgres`"
        return None

    @classmethod
    def start(cls, max_connections: int = 40) -> PgServer:
        bindir = _bindir()
        assert bindir is not None
        run_as = "postgres" if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="kc-pg-"))
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        server = cls(folder=folder, port=_free_port(), bindir=bindir, run_as=run_as)
        data = folder / "data"
        subprocess.run(
            server._cmd(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
            check=True, capture_output=True, text=True,
        )
        options = (f"-c listen_addresses=127.0.0.1 -c port={server.port}"
                   f" -c unix_socket_directories={folder} -c fsync=off -c full_page_writes=off"
                   f" -c synchronous_commit=off -c max_connections={max_connections}")
        subprocess.run(
            server._cmd(str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                        "-l", str(folder / "server.log"), "-w", "-t", "60", "start"),
            check=True, capture_output=True, text=True,
        )
        return server

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"),
            check=False, capture_output=True, text=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, prefix: str = "kc") -> str:
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_url, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
