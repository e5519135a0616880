"""Submissions that look for what a grading kernel must not see, or leave files behind.

Each case is a cell added to lesson 01's solution. It prints ``LEAK: ...`` when it finds
what it looks for; it never raises, so the notebook keeps its full marks. ``leaves``
names host paths that must not exist once grading is over. The placeholders are filled
from the test's context: ``repo`` (this repository), ``course`` (the course root),
``gradebook`` (an SQLite gradebook outside the course root), ``submissions`` (a folder
named on a grading process's command line), ``token`` (a secret in the grader's
environment, also the password in a PostgreSQL gradebook URL, in ``PGPASSWORD`` and in
the ``.pgpass`` file ``pgpass`` that ``PGPASSFILE`` names), ``victim`` (text only another
student's notebook holds), ``tag`` (a name unique to this run), ``kernels`` (the
kernels' parent folder).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxCase:
    name: str
    source: str
    description: str
    leaves: tuple[str, ...] = ()


def _reads(*paths: str) -> str:
    """A cell that reports every one of ``paths`` it can list or read."""
    lines = ["import os", "for _p in ["]
    lines += [f"        {p!r}," for p in paths]
    lines += ["        ]:",
              "    try:",
              "        _seen = os.listdir(_p) if os.path.isdir(_p) else open(_p, 'rb').read(64)",
              "        print('LEAK:', _p, repr(_seen)[:200])",
              "    except OSError:",
              "        pass"]
    return "\n".join(lines) + "\n"


_WALK = """\
import os
for _top in {tops!r}:
    for _dir, _, _files in os.walk(_top):
        for _name in _files:
            try:
                _text = open(os.path.join(_dir, _name), 'rb').read()
            except OSError:
                continue
            if {needle!r}.encode() in _text:
                print('LEAK:', os.path.join(_dir, _name))
"""

_PROC_CMDLINE = """\
import os
for _pid in os.listdir('/proc'):
    if not _pid.isdigit() or int(_pid) == os.getpid():
        continue
    try:
        _args = open(f'/proc/{{_pid}}/cmdline', 'rb').read().split(b'\\0')
    except OSError:
        continue
    for _arg in _args:
        if _arg.startswith(b'--from'):
            _folder = _arg.split(b'=', 1)[-1].decode()
            print('LEAK: command line of', _pid, _folder)
            try:
                print('LEAK:', os.listdir(_folder))
            except OSError:
                pass
"""

_PROC_ENVIRON = """\
import os
for _pid in ['1', 'self', str(os.getppid())] + os.listdir('/proc'):
    try:
        _env = open(f'/proc/{{_pid}}/environ', 'rb').read()
    except OSError:
        continue
    if b'{token}' in _env or b'COURSE_GRADEBOOK_URL' in _env:
        print('LEAK: environment of', _pid)
"""

_ENVIRON = """\
import os
for _name, _value in os.environ.items():
    if '{token}' in _value or _name in ('COURSE_GRADEBOOK_URL', 'GRADER_API_TOKEN'):
        print('LEAK: variable', _name)
"""

_POSTGRES = """\
import os
for _name, _value in os.environ.items():
    if _name.startswith('PG') or '{token}' in _value:
        print('LEAK: variable', _name)
for _path in [os.path.expanduser('~/.pgpass'), '/root/.pgpass', '/var/lib/postgresql/.pgpass',
              '{pgpass}', os.environ.get('PGPASSFILE', '')]:
    try:
        if _path and '{token}' in open(_path).read():
            print('LEAK: password file', _path)
    except OSError:
        pass
"""

_OTHER_KERNELS = """\
import glob, os
_mine = os.getcwd()
for _folder in glob.glob('{kernels}/kernel-*') + glob.glob('/tmp/**/kernel-*', recursive=True):
    if os.path.realpath(_folder) != os.path.realpath(_mine):
        try:
            print('LEAK: another kernel folder', _folder, os.listdir(_folder))
        except OSError:
            print('LEAK: another kernel folder exists', _folder)
"""

_SCRATCH = """\
import os, tempfile
for _folder in ('/tmp', '/var/tmp', '/dev/shm'):
    try:
        with open(os.path.join(_folder, 'left-{tag}'), 'wb') as _handle:
            _handle.write(b'x' * 2**20)
    except OSError:
        pass
with open(os.path.join(tempfile.gettempdir(), 'left-{tag}-tmpdir'), 'wb') as _handle:
    _handle.write(b'x' * 2**20)
"""

CASES = [
    SandboxCase("read-solutions", _reads("{repo}/solutions", "{repo}/solutions/01-derivatives"),
                "lists and reads the instructor's solutions"),
    SandboxCase("read-tests", _reads("{repo}/tests", "{repo}/tests/adversarial/cases.py",
                                     "{repo}/autograder/trusted.py"),
                "reads the repository's tests and the grader's code"),
    SandboxCase("read-git", _reads("{repo}/.git", "{repo}/.git/config"),
                "reads the git history (which holds the solutions)"),
    SandboxCase("read-course-data", _reads("{course}/course-data",
                                           "{course}/course-data/submitted"),
                "lists the other students' submitted and graded notebooks"),
    SandboxCase("grep-course-data", _WALK.format(tops=["{course}"], needle="{victim}"),
                "searches the course folder for another student's work"),
    SandboxCase("read-gradebooks", _reads("{course}/gradebook.db", "{gradebook}"),
                "reads the gradebook, in the course root and outside it (hidden tests, grades)"),
    SandboxCase("read-root-home", _reads("/root/.bashrc", "/root/.profile", "/root/.gitconfig",
                                         "/home", "/etc/shadow"),
                "reads the administrator's home and the password hashes"),
    SandboxCase("proc-cmdline", _PROC_CMDLINE,
                "finds the --from folder on a grading process's command line in /proc"),
    SandboxCase("proc-environ", _PROC_ENVIRON,
                "reads the grader's environment through /proc/<pid>/environ"),
    SandboxCase("own-environ", _ENVIRON,
                "looks for the gradebook URL and tokens in its own environment"),
    SandboxCase("postgres-credentials", _POSTGRES,
                "looks for a PostgreSQL gradebook's password: PGPASSWORD, PGPASSFILE, the "
                "URL, the grader's .pgpass"),
    SandboxCase("other-kernels", _OTHER_KERNELS,
                "looks into other kernels' private folders"),
    SandboxCase("submissions-folder", _WALK.format(tops=["{submissions}", "/tmp", "/var/tmp"],
                                                   needle="{victim}"),
                "searches the download folder and the temp folders for other submissions"),
    SandboxCase("scratch-leftovers", _SCRATCH,
                "writes to /tmp, /var/tmp, /dev/shm and TMPDIR, hoping the files survive",
                leaves=("/tmp/left-{tag}", "/var/tmp/left-{tag}", "/dev/shm/left-{tag}",
                        "/tmp/left-{tag}-tmpdir")),
]
