"""Submissions of lesson 01 that attack the files the grader shares with the kernel, or
that fault the kernel itself, each with the exercises it must lose.

Each case edits the solution notebook (all five exercises right). ``loses`` are the
exercises that must score zero; every other one must keep its point. Besides the
scores, ``tests/test_adversarial_kernel.py`` checks that no file outside the kernel's
folder changed (a root-only file and the course's own source notebook are offered as
targets), that the grader's memory stayed bounded, that the run took about as long as
its timeouts, and, where ``note`` is given, that the graded notebook says why the
kernel was restarted.

Context keys for the sources: ``record_env`` (the variable naming the recording log),
``target`` (a file only root may read or write), ``notebook`` (the course's source
notebook of the lesson), ``folder`` (a folder outside the course).
"""

from __future__ import annotations

from dataclasses import dataclass

from adversarial.edits import Edit, append_cell, insert_before, replace_answer


@dataclass(frozen=True)
class KernelCase:
    name: str
    edit: Edit  # (notebook, context) -> None
    loses: tuple[str, ...]
    description: str
    needs_root: bool = False
    #: The graded notebook's notes must contain this (a restart after too much memory).
    note: str | None = None
    #: Seconds the whole grading run may take (the cell timeout is 20 s).
    max_seconds: float = 120
    #: The grader's ``TrustedExecute.restart_above_mb`` for this case, when not the
    #: default. The memory cases use a lower limit so that they touch less memory: a
    #: virtual machine that hands freed memory back to its host gives it again at about
    #: 80 MB/s, and a 1.7 GB array then took longer than the 20 s cell timeout.
    restart_above_mb: int | None = None


#: The kernel's side of an attack on its log. The commands run in a shell, so that they
#: reach the log whatever the kernel's own Python would refuse to do.
LOG = ("import os, subprocess\nlog = os.environ[{record_env!r}]\n"
       "def sh(command, *args):\n"
       "    subprocess.run(['sh', '-c', command, *args], check=True)\n")
LINK = LOG + "sh('rm -f \"$0\" && ln -s \"$1\" \"$0\"', log, {target})\n"
FIFO = LOG + "sh('rm -f \"$0\" && mkfifo \"$0\"', log)\n"


def _link(target: str) -> str:
    return LINK.replace("{target}", target)


LOG_CASES = [
    KernelCase("log-symlink-to-root-only-file",
               insert_before("relu_prime_check", _link("{target!r}")),
               ("relu_prime",), "the log becomes a link to a file only root can write; the "
               "grader must not write into it", needs_root=True),
    KernelCase("log-symlink-to-source-notebook",
               insert_before("relu_prime_check", _link("{notebook!r}")),
               ("relu_prime",), "the log becomes a link to the course's source notebook",
               needs_root=True),
    KernelCase("log-symlink-to-dev-zero", append_cell(_link("'/dev/zero'")),
               (), "the log becomes a link to an endless device"),
    KernelCase("log-fifo", append_cell(FIFO), (), "the log becomes a named pipe nobody writes to"),
    KernelCase("log-fifo-before-a-test", insert_before("relu_prime_check", FIFO),
               ("relu_prime",), "the log becomes a named pipe before a test cell: the kernel "
               "blocks on its own log, the grader does not", max_seconds=150),
    KernelCase("log-deleted", append_cell(LOG + "sh('rm -f \"$0\"', log)\n"),
               (), "the log is deleted after the tests"),
    KernelCase("log-truncated", append_cell(LOG + "sh(': > \"$0\"', log)\n"),
               (), "the log is emptied after the tests"),
    KernelCase("log-garbage-and-forged-markers", append_cell(
        LOG + "with open('forged', 'wb') as f:\n"
        "    f.write(b'\\x00\\xff garbage {{not json\\n' * 1000)\n"
        "    for cell in ['mse_check', 'grad_f_check', 'relu_prime_check']:\n"
        "        f.write(('{{\"cell\": \"%s\"}}\\n{{\"label\": \"mse\", \"value\": 0}}\\n'"
        " % cell).encode())\n"
        "sh('cat forged >> \"$0\"', log)\n"),
        (), "garbage and forged cell markers appended after the tests"),
    KernelCase("log-250-mb", append_cell(
        LOG + "sh('head -c 250000000 /dev/zero | tr \"\\\\0\" y >> \"$0\"', log)\n"),
        (), "250 MB appended to the log after the tests"),
    KernelCase("log-flooded-inside-a-test", replace_answer("sigmoid_prime", (
        LOG + "import numpy as np\n"
        "def sigmoid_prime(z):\n"
        "    sh('head -c 10000000 /dev/zero | tr \"\\\\0\" \" \" >> \"$0\"', log)\n"
        "    s = 0.5 * (1 + np.tanh(np.asarray(z, dtype=float) / 2))\n"
        "    return s * (1 - s)\n")),
        ("sigmoid_prime",), "the function under test adds 10 MB to the log at every call"),
    KernelCase("connection-file-symlink-then-crash", replace_answer("sigmoid_prime", (
        "import os, subprocess\n"
        "subprocess.run(['sh', '-c', 'rm -f .kernel-connection.json && '\n"
        "                'ln -s \"$0\" .kernel-connection.json', {target!r}])\n"
        "os._exit(1)\n")),
        ("sigmoid_prime",), "the connection file becomes a link to a root-only file, then "
        "the kernel dies: the restart must not write through it", needs_root=True),
    KernelCase("workdir-links-outside", append_cell(
        "import os\nos.symlink({folder!r}, 'escape')\nos.symlink({target!r}, 'secret')\n"
        "os.symlink('/', 'root')\n"),
        (), "links out of the kernel's folder: cleaning it up must not follow them"),
]

FAULT_CASES = [
    KernelCase("ignores-sigint-at-top-level", insert_before("grad_f", (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    pass\n")),
        (), "a cell ignores interrupts and spins: killed after its timeout, the rest graded",
        max_seconds=150),
    KernelCase("ignores-sigint-in-function", replace_answer("grad_f", (
        "import signal\n"
        "def grad_f(x, y):\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "    while True:\n        pass\n")),
        ("grad_f",), "the graded function ignores interrupts and spins", max_seconds=150),
    KernelCase("swallows-keyboard-interrupt", replace_answer("hessian_f", (
        "def hessian_f(x, y):\n"
        "    while True:\n"
        "        try:\n            while True:\n                pass\n"
        "        except KeyboardInterrupt:\n            pass\n")),
        ("hessian_f",), "the graded function catches every interrupt and goes on",
        max_seconds=150),
    KernelCase("keeps-a-big-global", insert_before("grad_f", (
        "import numpy as np\nhog = np.ones(80_000_000)\n")),
        (), "a cell keeps 640 MB in a global, above a limit of 512 MB: the kernel is "
        "restarted without it", note="kernel was restarted", restart_above_mb=512),
    KernelCase("children-keep-memory", insert_before("grad_f", (
        "import os, select, time\nimport numpy as np\n"
        "ready, held = os.pipe()\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        hog = np.ones(25_000_000)\n        os.write(held, b'.')\n"
        "        time.sleep(600)\n        os._exit(0)\n"
        "signals, deadline = b'', time.monotonic() + 15\n"
        "while len(signals) < 3 and select.select(\n"
        "        [ready], [], [], max(0.0, deadline - time.monotonic()))[0]:\n"
        "    signals += os.read(ready, 3)\n")),
        (), "three forked children keep 200 MB each, each below a limit of 512 MB: "
        "counted together", note="kernel was restarted", restart_above_mb=512),
    KernelCase("one-huge-print", insert_before("grad_f", "print('x' * 400_000_000)\n"),
               (), "one 400 MB print"),
    KernelCase("huge-display", append_cell(
        "from IPython.display import HTML, display\n"
        "display(HTML('<p>' + 'x' * 200_000_000 + '</p>'))\n"),
        (), "a 200 MB rich output"),
    KernelCase("huge-error-message",
               insert_before("hessian_f", "raise ValueError('x' * 300_000_000)\n"),
               (), "a 300 MB exception message (the reply itself is too large to take)",
               max_seconds=150),
    KernelCase("many-megabyte-prints-to-stderr", insert_before("hessian_f", (
        "import sys\nfor _ in range(400):\n    sys.stderr.write('e' * 1_000_000)\n")),
        (), "400 prints of 1 MB on stderr"),
    KernelCase("reads-history", append_cell(
        "import glob, os, sqlite3\n"
        "ip = get_ipython()\n"
        "print(In, _ih, Out)\n"
        "print(ip.history_manager.input_hist_raw)\n"
        "for name in glob.glob(os.path.expanduser('~') + '/**/*.sqlite', recursive=True):\n"
        "    try:\n"
        "        print(sqlite3.connect(name).execute('select * from history').fetchall())\n"
        "    except Exception as error:\n        print(error)\n"
        "print(list(ip.history_manager.get_range(output=False)))\n"),
        (), "a cell added after the tests reads the kernel's input history"),
]

CASES = LOG_CASES + FAULT_CASES
