"""The examples in README.md and docs/api.md run as they are, in order, on a fresh
``make run`` (``veil demo --serve``), and do what they say.

Every ``sh`` block runs, except one marked ``<!-- not run by tests/test_docs_examples.py
… -->`` (those start long-running processes). The blocks of one file run in one shell,
in a folder laid out like the repository (``.venv``, ``../shared``), with every HTTP error
recorded (and failing the test); the only change to the text is the port.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from served import free_port, stop, wait_ready

REPO = Path(__file__).resolve().parents[1]
SKIP = "<!-- not run by tests/test_docs_examples.py"
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def examples(doc: Path) -> list[str]:
    text = doc.read_text("utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        before = text[:m.start()].rstrip().splitlines()
        if before and before[-1].startswith(SKIP):
            continue
        out.append(m.group(1))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):  # type: ignore[no-untyped-def]
    """``make run`` in a folder laid out like the repository."""
    top = tmp_path_factory.mktemp("docs")
    work = top / "work"
    work.mkdir()
    (work / ".venv").symlink_to(REPO / ".venv")
    (top / "shared").mkdir()
    (top / "shared" / "data").symlink_to(shared_data)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
    env.update(VEIL_HOME=str(work / ".veil-demo"), COLUMNS="200")
    log = (top / "demo.log").open("wb")
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "veil"), "demo", "--serve",
                             "--port", str(port)], cwd=work, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}", proc, 180), (
            (top / "demo.log").read_text(errors="replace")[-3000:])
        yield work, port, env
    finally:
        stop(proc)
        log.close()


def run(doc: Path, work: Path, port: int, env: dict[str, str]) -> str:
    blocks = examples(doc)
    assert blocks, f"no examples found in {doc}"
    # as a person's shell runs them (no pipefail: `ls a b | head` is fine there), but
    # any HTTP error, even inside a pipe, is written down and fails the test
    failures = work / f"{doc.stem}.failed"
    failures.unlink(missing_ok=True)
    script = ["set -eu", 'curl() { command curl --fail-with-body "$@" || '
              f'{{ echo "curl $* -> exit $?" >> {failures}; return 1; }}; }}']
    for i, block in enumerate(blocks):
        script += [f"echo '::example {i + 1}::'", block.replace("127.0.0.1:8000",
                                                               f"127.0.0.1:{port}")]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    failed = failures.read_text() if failures.exists() else ""
    assert done.returncode == 0 and not failed, (
        f"{doc.name}: an example failed (exit {done.returncode})\n{failed}\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.mark.corpus
def test_readme_examples_run(demo) -> None:  # type: ignore[no-untyped-def]
    work, port, env = demo
    out = run(REPO / "README.md", work, port, env)
    assert '"decision":"block"' in out.replace(" ", "")  # the near hash is blocked
    assert '"decision":"review"' in out.replace(" ", "")  # the upload's copy is banked
    assert '"status":"withdrawn"' in out.replace(" ", "")


@pytest.mark.corpus
def test_api_doc_examples_run(demo) -> None:  # type: ignore[no-untyped-def]
    work, port, env = demo
    out = run(REPO / "docs" / "api.md", work, port, env).replace(" ", "")
    assert '"decision":"block"' in out and '"decision":"review"' in out
    assert '"imported":2' in out  # the CSV's two rows
    assert '"status":"disputed"' in out and '"status":"active"' in out  # disputed, restored
    assert (work / "list.jsonl").read_text().count("\n") == 2


@pytest.mark.corpus
def test_hma_doc_examples_run(demo) -> None:  # type: ignore[no-untyped-def]
    work, port, env = demo
    out = run(REPO / "docs" / "hma-compat.md", work, port, env).replace(" ", "")
    assert '"matching_enabled_ratio":1.0' in out
    assert '"distance":"3"' in out  # the copy 3 bits away, in /m/lookup and /m/raw_lookup
    assert re.search(r'"pdq":"[0-9a-f]{64}"', out)  # /h/hash of the upload


def test_examples_are_found_and_markers_respected() -> None:
    readme = examples(REPO / "README.md")
    assert not any("make run" in b for b in readme)
    assert len(examples(REPO / "docs" / "api.md")) >= 6
    assert len(examples(REPO / "docs" / "hma-compat.md")) == 1
