"""classifier.dask on a real dask.distributed LocalCluster with two worker processes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import classifier
from classifier import InputError
from classifier.frames import classify_frame as pandas_classify
from classifier.frames import clean_frame as pandas_clean
from tests.conftest import SEED

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

SEED_TEXT = SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def documents() -> pd.DataFrame:
    texts = [SEED_TEXT.replace("Kremlin", f"Kremlin {n}") for n in range(30)] + ["Officials said so.\nRead more\n", ""]
    return pd.DataFrame({"text": texts, "n": range(len(texts))})


def test_clean_and_classify_on_two_workers_match_pandas_and_load_the_model_once_each(client) -> None:
    import classifier.dask as cdask

    frame = documents()
    lazy = dd.from_pandas(frame, npartitions=8)
    cleaned = cdask.clean_frame(lazy, labels=True).compute()
    cleaned["paragraph_labels"] = cleaned["paragraph_labels"].map(json.loads)
    pd.testing.assert_frame_equal(cleaned, pandas_clean(frame, labels=True), check_dtype=False)
    paragraphs = cdask.classify_frame(lazy).compute()
    pd.testing.assert_frame_equal(paragraphs, pandas_classify(frame), check_dtype=False)
    counts = client.run(cdask.worker_model_loads)  # worker -> (loads, partitions)
    assert len(counts) == 2
    assert sum(partitions for _, partitions in counts.values()) == 16
    for loads, partitions in counts.values():
        assert loads == (1 if partitions else 0), counts  # once per worker, however many partitions


def test_a_loaded_model_travels_to_the_workers(client) -> None:
    import classifier.dask as cdask

    frame = documents()
    result = cdask.clean_frame(dd.from_pandas(frame, npartitions=4), model=classifier.load_model(), min_confidence=0.99).compute()
    assert result["text"].tolist() == [classifier.clean(text, min_confidence=0.99) for text in frame["text"]]


def test_bad_input_is_refused_before_anything_runs(client) -> None:
    import classifier.dask as cdask

    lazy = dd.from_pandas(documents(), npartitions=2)
    with pytest.raises(InputError, match="no column 'body'"):
        cdask.clean_frame(lazy, column="body")
    with pytest.raises(TypeError, match="Dask DataFrame"):
        cdask.clean_frame(documents())
    with pytest.raises(ValueError, match="min_confidence must lie between 0 and 1"):
        cdask.clean_frame(lazy, min_confidence=5)
    with pytest.raises(ValueError, match="on_error must be 'fail' or 'skip'"):
        cdask.classify_frame(lazy, on_error="bogus")


def test_one_label_to_keep_may_be_a_plain_string(client) -> None:
    import classifier.dask as cdask

    frame = documents()
    kept = cdask.clean_frame(dd.from_pandas(frame, npartitions=2), keep="reporting").compute()
    assert kept["text"].tolist() == pandas_clean(frame)["text"].tolist()


def test_the_labels_column_is_typed_so_parquet_can_take_it(client, tmp_path) -> None:
    import classifier.dask as cdask

    frame = documents()
    cdask.clean_frame(dd.from_pandas(frame, npartitions=3), labels=True).to_parquet(tmp_path / "out")
    written = pd.read_parquet(tmp_path / "out")
    expected = pandas_clean(frame, labels=True)["paragraph_labels"].tolist()
    assert [json.loads(entries) for entries in written["paragraph_labels"]] == expected


def test_a_categorical_text_column_comes_back_with_unknown_categories(client) -> None:
    import classifier.dask as cdask

    frame = documents().assign(text=lambda f: f["text"].astype("category"))
    lazy = cdask.clean_frame(dd.from_pandas(frame, npartitions=4))
    # The cleaned texts are new values: meta must not claim the input's categories.
    assert not lazy["text"].cat.known
    result = lazy.compute()
    assert result["text"].astype(str).tolist() == [classifier.clean(text) for text in frame["text"].astype(str)]


def test_a_model_retrained_in_place_is_read_again_by_the_workers(client, small_model, tmp_path) -> None:
    import classifier.dask as cdask
    from classifier import save_model

    folder = tmp_path / "m"
    save_model(small_model, folder)
    lazy = dd.from_pandas(documents(), npartitions=2)
    first = cdask.clean_frame(lazy, model=folder).compute()
    (folder / "weights.npz").unlink()  # as a half-finished retraining would leave it
    with pytest.raises(classifier.ModelError):
        cdask.clean_frame(lazy, model=folder).compute()
    save_model(small_model, folder)
    assert cdask.clean_frame(lazy, model=folder).compute().equals(first)
