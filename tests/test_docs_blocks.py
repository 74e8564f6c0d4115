"""Every ```python and ```bash block of README.md and docs/*.md runs as written.

Blocks tagged ```python or ```bash are extracted in order and run in a child process, in a fresh
folder per document (so a later block can use what an earlier one wrote, e.g. runs/mnist-mlp);
plain ``` and ```text blocks are output or pseudo-code and are not run. The folder is a
temporary one holding the checkout's files by symlink, so paths relative to the checkout work. The children run offline
on the suite's generated datasets (tests/_offline.py) with AXONAL_SMOKE=1, which makes every
`axonal train` / `axonal evaluate` a smoke-size run (documented in the README). On their PATH:
`axonal` and `python` are this checkout and this interpreter, and `pip` is a checker that installs
nothing: it verifies that every `.[extra]` exists in pyproject.toml and every package named is
one the project declares (the real installs are run by .ci/run on a fresh clone).

A block that cannot run here (a server that runs until Ctrl-C, the test suite itself) is marked in
the document by an HTML comment on the line before it, `<!-- not run: NAME: reason -->`; at most 5
blocks may be marked, and each is reported with its reason (as a skip, and in the summary).
"""
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_TAGS = ("python", "bash")
MAX_EXCLUDED = 5
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*not run:\s*([\w.-]+):\s*(.+?)\s*-->\s*$")

EXCLUDED = []  # (document, name, reason): printed in the summary by conftest


def blocks(path):
    """[(line number, tag, code, exclusion (name, reason) or None)] of a Markdown file."""
    out, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, tag = i, m.group(1)
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        mark = MARK.match(lines[start - 1]) if start else None
        out.append((start + 1, tag, "\n".join(body) + "\n", mark.groups() if mark else None))
        i += 1
    return out


def _runnable():
    cases = []
    for doc in DOCS:
        runs = [b for b in blocks(doc) if b[1] in RUN_TAGS]
        if runs:
            cases.append(pytest.param(doc, runs, id=doc.relative_to(ROOT).as_posix()))
    return cases


def test_blocks_are_found_and_few_are_excluded():
    found = {doc.name: blocks(doc) for doc in DOCS}
    assert sum(b[1] in RUN_TAGS for bs in found.values() for b in bs) >= 5
    marked = [(doc, b[3]) for doc, bs in found.items() for b in bs if b[3]]
    assert len(marked) <= MAX_EXCLUDED, f"more than {MAX_EXCLUDED} blocks excluded: {marked}"
    assert all(b[1] in RUN_TAGS for bs in found.values() for b in bs if b[3]), \
        "only ```python/```bash blocks need an exclusion mark"


# -- the tools the blocks find on their PATH -------------------------------------------------------
PIP_CHECK = '''
import re, sys
try:
    import tomllib
except ImportError:  # Python 3.10: nothing to check the extras against
    sys.exit(print("pip checker: tomllib missing (Python < 3.11); not checked"))
root = {root!r}
meta = tomllib.load(open(root + "/pyproject.toml", "rb"))["project"]
extras = meta["optional-dependencies"]
declared = {{re.split(r"[<>=!;\\[ ]", d)[0].lower() for d in meta["dependencies"]
            + [d for ds in extras.values() for d in ds]}} | {{"torch"}}
args = sys.argv[1:]
if not args or args[0] != "install":
    sys.exit(f"pip checker: only 'pip install' is expected in the docs, got {{args}}")
for arg in args[1:]:
    if arg in ("-e", "--editable", "-U", "--upgrade", "-q"):
        continue
    m = re.fullmatch(r"\\.(?:\\[([\\w,-]+)\\])?", arg)
    if m:
        unknown = [e for e in (m.group(1) or "").split(",") if e and e not in extras]
        if unknown:
            sys.exit(f"pip checker: pyproject.toml has no extra {{unknown}} (has {{sorted(extras)}})")
        continue
    name = re.split(r"[<>=!\\[]", arg)[0].lower()
    if name == "axonal":
        sys.exit("pip checker: axonal is not on the package index; install the checkout: "
                 "pip install -e '.[mkl]'")
    if name not in declared:
        sys.exit(f"pip checker: {{arg}} is not a package the project declares")
print("pip checker: ok:", " ".join(args))
'''


def _tools(folder, env):
    folder.mkdir()
    scripts = {
        "pip": f'#!/bin/sh\nexec "{sys.executable}" "{folder / "pip_check.py"}" "$@"\n',
        "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
        "axonal": f'#!/bin/sh\nexec "{sys.executable}" -m axonal "$@"\n',
    }
    (folder / "pip_check.py").write_text(PIP_CHECK.format(root=str(ROOT)))
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(stat.S_IRWXU)
    pythonpath = os.pathsep.join([env["PYTHONPATH"], str(ROOT)])
    return dict(env, PATH=f"{folder}{os.pathsep}{env['PATH']}", PYTHONPATH=pythonpath,
                AXONAL_SMOKE="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")


@pytest.mark.parametrize("doc, runs", _runnable())
def test_doc_blocks_run(doc, runs, tmp_path, offline_env):
    env = _tools(tmp_path / "bin", offline_env)
    work = tmp_path / "work"  # the checkout's files by symlink, so that `pip install -e .` and
    work.mkdir()              # `tests/...` resolve, while runs/ is written here, not in the checkout
    for entry in ROOT.iterdir():
        if entry.name not in ("runs", ".git") and not entry.name.startswith(".pytest"):
            (work / entry.name).symlink_to(entry)
    skipped = []
    for line, tag, code, mark in runs:
        where = f"{doc.relative_to(ROOT)}:{line}"
        if mark:
            EXCLUDED.append((where, *mark))
            skipped.append(f"{where} ({mark[0]}): {mark[1]}")
            continue
        if tag == "python":
            cmd = [sys.executable, "-c", code]
        else:
            cmd = ["bash", "-euo", "pipefail", "-c", code]
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                              timeout=900, check=False)
        assert proc.returncode == 0, (f"{where}: the ```{tag} block failed (exit "
                                      f"{proc.returncode})\n{code}\n--- stdout\n"
                                      f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
    if skipped:
        print("not run:", *skipped, sep="\n  ")


def test_pip_checker_refuses_what_the_index_cannot_install(tmp_path, offline_env):
    env = _tools(tmp_path / "bin", offline_env)
    bad = {"pip install axonal[mkl]": "not on the package index",
           'pip install -e ".[nosuchextra]"': "has no extra",
           "pip install leftpad": "not a package the project declares"}
    for line, message in bad.items():
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                              text=True, check=False)
        assert proc.returncode != 0 and message in proc.stderr, (line, proc.stderr)
    ok = subprocess.run(["bash", "-c", 'pip install -e ".[mkl]"'], cwd=tmp_path, env=env,
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def test_the_markers_are_read(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("intro\n<!-- not run: server: runs until Ctrl-C -->\n```bash\naxonal playground\n"
                   "```\n```\nnot run\n```\n```text\nnot run\n```\n")
    assert [(b[1], b[3]) for b in blocks(doc)] == [("bash", ("server", "runs until Ctrl-C")),
                                                   ("", None), ("text", None)]
