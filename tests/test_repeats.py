"""Repetition across a site: counting pages per (domain, paragraph), and its use."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from classifier.features import words_of
from classifier.repeats import SiteRepeats, frame_site_repeats, paragraph_keys


def test_counts_pages_not_occurrences_and_keeps_sites_apart() -> None:
    pages = [
        ("a.com", ["Menu", "Story one.", "Menu"]),
        ("a.com", ["Menu", "Story two."]),
        ("b.com", ["Menu", "Story one."]),
        (None, ["Menu"]),  # no domain: not counted
    ]
    repeats = SiteRepeats.count(pages)
    assert repeats.lookup("a.com", ["Menu", "Story one.", "Story two.", "Never seen"]).tolist() == [2, 1, 1, 1]
    assert repeats.lookup("b.com", ["Menu", " Menu "]).tolist() == [1, 1]
    assert repeats.lookup(None, ["Menu"]).tolist() == [1]


def test_keys_are_stable_and_strip_whitespace() -> None:
    assert paragraph_keys("a.com", ["x "]).tolist() == paragraph_keys("A.com", [" x"]).tolist()
    assert paragraph_keys("a.com", ["x"]).tolist() != paragraph_keys("b.com", ["x"]).tolist()
    # blake2b, not Python's salted hash(): the same in every process and run.
    assert paragraph_keys("a.com", ["Subscribe"])[0] == np.uint64(
        int.from_bytes(__import__("hashlib").blake2b(b"a.com\x1fSubscribe", digest_size=8).digest(), "little")
    )


def test_merging_in_chunks_gives_the_same_counts(monkeypatch) -> None:
    import classifier.repeats as module

    pages = [("s.org", [f"line {i % 7}", f"line {i % 3}", "footer"]) for i in range(50)]
    whole = SiteRepeats.count(pages)
    monkeypatch.setattr(module, "_MERGE_EVERY", 4)
    chunked = SiteRepeats.count(pages)
    assert whole.keys.tolist() == chunked.keys.tolist()
    assert whole.counts.tolist() == chunked.counts.tolist()
    assert whole.lookup("s.org", ["footer"]).tolist() == [50]


def test_frame_counts_a_page_once_across_its_extractions() -> None:
    frame = pd.DataFrame(
        {
            "doc_id": ["c/1/x", "c/1/y", "c/2/x", "c/3/x", "d/9/x"],
            "corpus": ["c", "c", "c", "c", "d"],
            "page_id": ["1", "1", "2", "3", "9"],
            "domain": ["a.com", "a.com", "a.com", "b.com", None],
            "text": ["Subscribe", "Subscribe", "Subscribe", "Subscribe", "Subscribe"],
        }
    )
    assert frame_site_repeats(frame).tolist() == [2, 2, 2, 1, 1]
    assert frame_site_repeats(frame.drop(columns="domain")).tolist() == [1] * 5


def test_cjk_text_is_split_into_characters() -> None:
    assert words_of("東京で会見 Tokyo 2024") == ["東", "京", "で", "会", "見", "tokyo", "0000"]
    assert words_of("東京で会見", "words") == ["東京で会見"]


def _corpus(path) -> None:
    import json

    rows = [
        {"id": 1, "url": "https://www.a.com/x", "text": "Story one is here.\nSubscribe to our newsletter"},
        {"id": 2, "url": "https://a.com/y", "text": "Story two is here.\nSubscribe to our newsletter"},
        {"id": 3, "domain": "a.com", "text": "Subscribe to our newsletter\nStory three."},
        {"id": 4, "domain": "b.com", "text": "Subscribe to our newsletter"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_first_pass_counts_rows_per_site_from_domain_or_url(tmp_path) -> None:
    from classifier.bulk.formats import count_site_repeats

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus)
    repeats = count_site_repeats(corpus)
    assert repeats.lookup("a.com", ["Subscribe to our newsletter", "Story two is here."]).tolist() == [3, 1]
    assert repeats.lookup("b.com", ["Subscribe to our newsletter"]).tolist() == [1]


def test_counts_reach_the_model(tmp_path) -> None:
    from classifier.bulk.formats import count_site_repeats
    from classifier.bulk.process import Documents, JobOptions, analyse

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus)
    seen: list = []

    class Spy:
        site_repeats = True

        def predict_proba_documents(self, documents, *, site_repeats=None):
            seen.append(site_repeats)
            return [np.tile([1.0, 0.0, 0.0], (len(document), 1)) for document in documents]

    documents = Documents()
    documents.add("Story two is here.\nSubscribe to our newsletter", 1, 1, "a.com")
    documents.add("Subscribe to our newsletter", 2, 2, None)
    options = JobOptions(site_repeats=count_site_repeats(corpus))
    analysis = analyse(documents, options, model=Spy(), threshold=0.5)
    assert [counts.tolist() for counts in seen[0]] == [[1, 3], [1]]
    # One model call for the batch; what the spy calls reporting all stays.
    assert analysis.paragraphs == 3 and len(seen) == 1
    assert analysis.outputs == ["Story two is here.\nSubscribe to our newsletter", "Subscribe to our newsletter"]


def test_cli_site_repeats_keeps_every_row(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from classifier.cli import app

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["clean", str(corpus), "-o", str(out), "--site-repeats", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, 2, 3, 4]
    refused = CliRunner().invoke(app, ["clean", str(corpus), "-o", str(out), "--site-repeats", "--html"])
    assert refused.exit_code != 0 and "--html" in refused.output


def test_frames_take_site_repeats_from_a_domain_column() -> None:
    from classifier.frames import classify_frame, clean_frame, count_frame_site_repeats

    frame = pd.DataFrame(
        {
            "text": ["Story one.\nSubscribe now", "Story two.\nSubscribe now", "Subscribe now"],
            "domain": ["a.com", "A.com ", "b.com"],
        }
    )
    repeats = count_frame_site_repeats(frame)
    assert repeats.lookup("a.com", ["Subscribe now"]).tolist() == [2]
    plain = classify_frame(frame)
    counted = classify_frame(frame, site_repeats=repeats)
    assert len(plain) == len(counted) == 5
    # The shipped model reads the count: the repeated line's probabilities move.
    assert not np.allclose(plain["p_ui_residue"].to_numpy()[[1, 3]], counted["p_ui_residue"].to_numpy()[[1, 3]])
    assert np.allclose(plain["p_ui_residue"].to_numpy()[4], counted["p_ui_residue"].to_numpy()[4])
    cleaned = clean_frame(frame, site_repeats=repeats)
    assert list(cleaned.columns) == ["text", "domain"] and len(cleaned) == 3
    with pytest.raises(Exception, match="domain_column"):
        classify_frame(frame.drop(columns="domain"), site_repeats=repeats)


def test_counts_merge_in_runs_of_doubling_size_and_add_up() -> None:
    from classifier.repeats import _Runs

    runs = _Runs()
    rng = np.random.default_rng(0)
    added = [rng.integers(0, 50, size, dtype=np.uint64) for size in (8, 8, 8, 4, 4, 30, 2)]
    for keys in added:
        runs.add(keys)
        sizes = [len(keys) for keys, _ in runs.runs]
        assert all(older > newer for older, newer in itertools.pairwise(sizes))  # each run merges only with smaller ones
    keys, counts = runs.merged()
    expected, expected_counts = np.unique(np.concatenate(added), return_counts=True)
    assert np.array_equal(keys, expected) and np.array_equal(counts, expected_counts)
    assert all(runs.holds(int(key)) for key in expected) and not runs.holds(50)


def test_a_page_seen_in_an_older_run_still_counts_once(monkeypatch) -> None:
    from classifier import repeats

    pages = [("site.example", [f"Story {n}.", "Menu"]) for n in range(40)]
    monkeypatch.setattr(repeats, "_MERGE_EVERY", 4)
    monkeypatch.setattr(repeats, "_PAGES_PER_RUN", 3)
    once = repeats.SiteRepeats.count(pages, distinct=True)
    twice = repeats.SiteRepeats.count(pages + pages[::-1], distinct=True)
    assert np.array_equal(once.keys, twice.keys) and np.array_equal(once.counts, twice.counts)
    assert once.lookup("site.example", ["Menu", "Story 3."]).tolist() == [40.0, 1.0]
