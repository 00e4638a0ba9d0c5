"""Where output lands: a link's target (the link stays), a device or a pipe written
into (never replaced by a file), and a place that cannot take it refused before work."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import classifier
from classifier.cli import app
from tests.conftest import SEED

runner = CliRunner()
CLEANED = classifier.clean(SEED.read_text(encoding="utf-8"))


def invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def test_a_link_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    result = invoke("clean", SEED, "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text(encoding="utf-8") == CLEANED


def test_a_corpus_written_to_a_link_keeps_the_link(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "text": SEED.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    real = tmp_path / "elsewhere" / "real.jsonl"
    real.parent.mkdir()
    real.write_text("", encoding="utf-8")
    link = tmp_path / "out.jsonl"
    link.symlink_to(real)
    result = invoke("clean", source, "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(real.read_text(encoding="utf-8"))["text"] == CLEANED


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_named_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text(encoding="utf-8")))
    reader.start()
    result = invoke("clean", SEED, "-o", pipe)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert received == [CLEANED]
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_removed_into_a_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "Share"}) + "\n", encoding="utf-8")
    for arguments in ([SEED], [source, "-o", tmp_path / "out.jsonl"]):
        result = invoke("clean", *arguments, "--removed", tmp_path)
        assert result.exit_code == 1 and f"{tmp_path} is a folder: give a file name" in result.output
        assert not (tmp_path / "out.jsonl").exists()


def test_dev_stdout_appends_to_what_the_shell_gave(tmp_path: Path) -> None:
    import subprocess
    import sys

    log = tmp_path / "log.txt"
    log.write_text("earlier\n", encoding="utf-8")
    command = f'"{sys.executable}" -m classifier clean "{SEED}" -o /dev/stdout >> "{log}"'
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert log.read_text(encoding="utf-8") == "earlier\n" + CLEANED
    piped = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m classifier clean "{SEED}" -o /dev/stdout | cat'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stdout == CLEANED, piped.stderr


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    private = tmp_path / "private.txt"
    private.write_text("old\n", encoding="utf-8")
    private.chmod(0o600)
    assert invoke("clean", SEED, "-o", private).exit_code == 0
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and private.read_text(encoding="utf-8") == CLEANED


def test_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.symlink_to(second)
    second.symlink_to(first)
    result = invoke("clean", SEED, "-o", first)
    assert result.exit_code == 1 and "loop of symbolic links" in result.output
    assert first.is_symlink() and second.is_symlink()


def test_only_the_process_own_streams_are_named_streams(tmp_path: Path) -> None:
    from classifier.files import is_stream, target_of

    assert is_stream(Path("/dev/stdout")) and is_stream(Path("/proc/self/fd/1"))
    # An ordinary file in a memory file system under /dev is replaced, not appended to.
    assert not is_stream(Path("/dev/shm/newsclean-no-such-file.txt"))
    link = tmp_path / "out"
    link.symlink_to("/dev/stdout")
    assert target_of(link) == Path("/dev/stdout")


def test_a_read_only_file_is_refused_as_the_shell_would(tmp_path: Path, monkeypatch) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("keep\n", encoding="utf-8")
    locked.chmod(0o444)
    if os.geteuid() == 0:  # root may write anything: ask as a user would be answered
        real_access = os.access

        def access(path, mode, **options) -> bool:
            if str(path) == str(locked) and mode & os.W_OK:
                return False
            return real_access(path, mode, **options)

        monkeypatch.setattr(os, "access", access)
    result = invoke("clean", SEED, "-o", locked)
    assert result.exit_code == 1 and "read-only" in result.output
    assert locked.read_text(encoding="utf-8") == "keep\n"


def test_one_file_named_for_two_outputs_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.txt"
    result = invoke("clean", SEED, "-o", out, "--removed", out)
    assert result.exit_code == 1 and "is named for two outputs" in result.output and not out.exists()


def test_a_folder_corpus_written_to_a_link_to_a_folder(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    result = invoke("clean", pages, "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (real / "a.txt").read_text(encoding="utf-8") == CLEANED
