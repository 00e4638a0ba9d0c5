from __future__ import annotations

from tests.conftest import ROOT


def _fenced_commands(text: str) -> list[str]:
    blocks = text.split("```bash\n")[1:]
    return [block.split("```")[0].strip() for block in blocks]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(cmd for cmd in _fenced_commands(readme) if "pytest" in cmd)
    install_and_test = test_command.split("&& ", 1)[1]
    assert install_and_test in ci


def test_readme_cleans_the_seed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = _fenced_commands(readme)[0]
    assert "newsclean clean seeds/000_5fc31cc41396119c.txt" in first
    assert "newsclean classify seeds/000_5fc31cc41396119c.txt" in first
