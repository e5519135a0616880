"""Launch links of a lesson page: JupyterHub (nbgitpuller), Binder and Colab.

Each link needs to know where the course lives: its public git repository (and branch),
and for nbgitpuller the course's JupyterHub. They come from ``site/site.toml`` (or the
build's command line); a link whose address is not configured is replaced by a line
saying what it needs. What each service does with this course, and where it does not
work, is stated next to the link (:data:`NOTES`): the site says it, not only the README.

>>> config = LaunchConfig("https://github.com/owner/course", "main", "https://hub.example.edu")
>>> [link.service for link in links(config, "01-derivatives/derivatives.ipynb")]
['JupyterHub', 'Binder', 'Colab']
>>> links(config, "01-derivatives/derivatives.ipynb")[2].url
'https://colab.research.google.com/github/owner/course/blob/main/lessons/01-derivatives/derivatives.ipynb'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

#: Where the lessons live inside the repository.
LESSONS_FOLDER = "lessons"


@dataclass(frozen=True)
class LaunchConfig:
    """Where the course lives: what the launch links point at."""

    repository: str = ""  # https://github.com/OWNER/NAME (any git URL for nbgitpuller)
    branch: str = "main"
    jupyterhub: str = ""  # the course's hub, e.g. https://hub.example.edu


@dataclass(frozen=True)
class Link:
    """One launch link (``url`` empty when the site was built without its address)."""

    service: str
    url: str
    note: str


#: What is true of each way to run a lesson, shown on every lesson page.
NOTES = {
    "JupyterHub": (
        "nbgitpuller copies the course's repository into your home folder on the course's "
        "JupyterHub and opens this lesson in JupyterLab. The hub's environment must have "
        "the `course` package installed (`pip install` of this repository); nbgitpuller "
        "installs nothing."),
    "Binder": (
        "Binder builds an environment from the repository's `pyproject.toml` (repo2docker "
        "releases from late 2025 on install such a project; older ones ignore it) and "
        "opens the lesson in JupyterLab. The first launch builds for several minutes, "
        "and your work is lost when the session ends: download the notebook."),
    "Colab": (
        "Colab opens the notebook, but it does not have the `course` package: the first "
        "code cell fails with `ModuleNotFoundError` unless you first run "
        "`%pip install git+{repository}` in a new cell above it, then Runtime > Restart "
        "session. nbgrader's Validate button is not there; the check cells still work."),
}
#: Where the course does not run at all (no link is made).
UNSUPPORTED = {
    "JupyterLite": (
        "JupyterLite runs Python in the browser (Pyodide), which has no build of JAX; "
        "every lesson's checks compare your answer with JAX, so the lessons do not run "
        "there."),
}


def load(path: Path) -> LaunchConfig:
    """The ``[launch]`` table of a TOML file (defaults for whatever it leaves out)."""
    table = tomllib.loads(path.read_text()).get("launch", {}) if path.exists() else {}
    known = {k: str(v) for k, v in table.items() if k in LaunchConfig.__dataclass_fields__}
    return LaunchConfig(**known)


def _github(repository: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a GitHub repository URL, or ``None`` for any other host."""
    parsed = urlparse(repository)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.hostname != "github.com" or len(parts) != 2:
        return None
    return parts[0], parts[1].removesuffix(".git")


def _folder_name(repository: str) -> str:
    """The folder nbgitpuller clones ``repository`` into: its last path component."""
    return urlparse(repository).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")


def jupyterhub_url(config: LaunchConfig, notebook: str) -> str:
    """An nbgitpuller link that opens ``lessons/<notebook>`` in JupyterLab on the hub."""
    if not (config.jupyterhub and config.repository):
        return ""
    path = f"{_folder_name(config.repository)}/{LESSONS_FOLDER}/{notebook}"
    query = urlencode({"repo": config.repository, "branch": config.branch,
                       "urlpath": f"lab/tree/{path}"})
    return f"{config.jupyterhub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def binder_url(config: LaunchConfig, notebook: str) -> str:
    """A mybinder.org link that opens the lesson in JupyterLab."""
    if not config.repository:
        return ""
    github = _github(config.repository)
    spec = (f"gh/{github[0]}/{github[1]}" if github
            else f"git/{quote(config.repository, safe='')}")
    query = urlencode({"urlpath": f"lab/tree/{LESSONS_FOLDER}/{notebook}"})
    return f"https://mybinder.org/v2/{spec}/{quote(config.branch, safe='')}?{query}"


def colab_url(config: LaunchConfig, notebook: str) -> str:
    """A Colab link (Colab opens notebooks from GitHub only)."""
    github = _github(config.repository)
    if not github:
        return ""
    owner, name = github
    return (f"https://colab.research.google.com/github/{owner}/{name}/blob/"
            f"{config.branch}/{LESSONS_FOLDER}/{notebook}")


def links(config: LaunchConfig, notebook: str) -> list[Link]:
    """The launch links of ``notebook`` (``<lesson>/<name>.ipynb``), with their notes."""
    repository = config.repository or "<this course's repository>"
    return [
        Link("JupyterHub", jupyterhub_url(config, notebook), NOTES["JupyterHub"]),
        Link("Binder", binder_url(config, notebook), NOTES["Binder"]),
        Link("Colab", colab_url(config, notebook),
             NOTES["Colab"].format(repository=repository)),
    ]


def _missing(service: str) -> str:
    needs = {"JupyterHub": "`repository` and `jupyterhub`",
             "Colab": "a GitHub `repository`"}.get(service, "`repository`")
    return f"(no link: this site was built without {needs} in `site/site.toml`)"


def markdown(config: LaunchConfig, notebook: str) -> str:
    """A MyST admonition with the lesson's launch links and what is true of each."""
    lines = ["```{admonition} Run this lesson", ":class: tip", "",
             "The page shows the lesson as you receive it, run with no exercise done. "
             "To do the exercises, open it in JupyterLab:", ""]
    for link in links(config, notebook):
        target = f"[{link.service}]({link.url})" if link.url else (
            f"**{link.service}** {_missing(link.service)}")
        lines.append(f"- {target}: {link.note}")
    for service, note in UNSUPPORTED.items():
        lines.append(f"- **{service}**: not offered. {note}")
    lines.append("- **Your own machine**: clone the repository and run "
                 "`python3 tasks.py lab` (Python 3.11 or newer).")
    lines.append("```")
    return "\n".join(lines) + "\n"
