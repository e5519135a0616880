"""A real PostgreSQL server for the tests: started once per session, one database per test.

The server is Debian's (``.ci/install-postgres`` installs it; any ``initdb``/``pg_ctl`` on
``PATH`` or under ``/usr/lib/postgresql/<version>/bin`` will do). It listens on a unix
socket only, in a folder of its own that the fixture creates in the temporary folder and
removes afterwards; it asks for a password (SCRAM), so the URLs the tests use carry one,
as a real course's would. PostgreSQL refuses to run as root: as root, the server runs as
the ``postgres`` user (or ``nobody``), which owns that folder and nothing else.

A test that asks for :func:`postgres_server` and cannot start the server fails. It is
skipped only when ``COURSE_TEST_NO_POSTGRES=1`` says that PostgreSQL is unavailable
(``.ci/run`` never sets it).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Set to 1 to skip the tests that need PostgreSQL (never set in CI).
SKIP_ENV = "COURSE_TEST_NO_POSTGRES"
#: The database role the tests connect as.
ROLE = "grader"
#: Users the server may run as when the tests run as root (PostgreSQL refuses root).
SERVER_USERS = ("postgres", "nobody")


class PostgresUnavailable(RuntimeError):
    """The server could not be started; the message says why and what to install."""


def find_bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``PATH`` first, then Debian's ``/usr/lib/postgresql/<version>/bin``, newest version
    first.
    """
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres): run .ci/install-postgres "
        f"(Debian's postgresql package), or set {SKIP_ENV}=1 to skip these tests")


def _server_user() -> str | None:
    """The unprivileged user to run the server as, or None to run it as this user."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailable(f"running as root and none of the users {SERVER_USERS} exists "
                              "to run PostgreSQL as")


@dataclass
class PostgresServer:
    """A running server: its binaries, its folder (data and socket) and its password."""

    bindir: Path
    folder: Path
    password: str
    user: str | None  # the OS user it runs as (None: this process's user)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    @classmethod
    def start(cls) -> PostgresServer:
        """Create a cluster in a fresh temporary folder and start it on a unix socket."""
        bindir, user = find_bindir(), _server_user()
        folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
        server = cls(bindir, folder, secrets.token_hex(16), user)
        try:
            server._initdb()
            server._pg_ctl("start", "-w", "-t", "60", "-l", str(folder / "server.log"), "-o",
                           f"-c listen_addresses='' -k {server.socket_dir} "
                           "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        except BaseException:
            server.stop()
            raise
        return server

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        """Run one of the server's tools as the server's user; raise with its output."""
        env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C", "HOME": str(self.folder)}
        owner = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid,
                 "extra_groups": []} if self.user else {}
        run = subprocess.run([str(self.bindir / command[0]), *command[1:]], env=env,
                             capture_output=True, text=True, timeout=120, check=False, **owner)
        if run.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{command[0]} failed ({run.returncode}):\n{run.stdout}"
                                      f"{run.stderr}{tail}")
        return run

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if self.user:  # the fixture's own folder only
            entry = pwd.getpwnam(self.user)
            for path in (self.folder, self.socket_dir, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data), "-U", ROLE, "--auth=scram-sha-256",
                      f"--pwfile={password_file}", "-E", "UTF8", "--locale=C", "--no-sync")
        finally:
            password_file.unlink(missing_ok=True)

    def _pg_ctl(self, *arguments: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *arguments)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL of ``database``, with the role's password, over the socket."""
        return f"{driver}://{ROLE}:{self.password}@/{database}?host={self.socket_dir}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection (autocommit) to ``database``."""
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), user=ROLE, password=self.password,
                               dbname=database, autocommit=True)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        name = name or f"test_{secrets.token_hex(6)}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self.connect() as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def version(self) -> str:
        """The server's version, e.g. ``15.18``."""
        with self.connect() as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0]).split()[0]

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session (fails the test if it cannot start)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL is unavailable on this machine")
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The SQLAlchemy URL of a fresh, empty database on the session's server."""
    return postgres_server.create_database()
