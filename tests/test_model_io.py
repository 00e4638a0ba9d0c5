"""The model file: exact export, faithful save and load, refusal of damaged or newer files."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from classifier import ModelFormatError, ModelIntegrityError, ModelVersionWarning, load_model, save_model
from classifier.evaluation import predict_table
from classifier.model import FORMAT_VERSION, load_model_folder


def test_export_matches_scikit_learn(fitted, small_training_table) -> None:
    model, estimator = fitted
    expected = estimator.predict_proba(small_training_table)
    # Stage two runs in single precision, as it was trained (scikit-learn's reference
    # here computes in double precision with the same weights).
    assert np.abs(predict_table(model, small_training_table) - expected).max() < 1e-5


def test_classes_follow_probability_columns(fitted) -> None:
    model, estimator = fitted
    assert tuple(estimator.classes_) == model.labels


def test_save_then_load_gives_identical_probabilities(small_model, small_training_table, tmp_path: Path) -> None:
    save_model(small_model, tmp_path / "m")
    loaded = load_model_folder(tmp_path / "m")
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(small_model, small_training_table))
    assert loaded.manifest["training_data"] == small_model.manifest["training_data"]


@pytest.mark.parametrize("name", ["manifest.json", "vocabulary.json", "weights.npz"])
def test_a_file_changed_by_one_byte_is_refused(small_model, tmp_path: Path, name: str) -> None:
    folder = save_model(small_model, tmp_path / "m")
    path = folder / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] = (data[middle] + 1) % 256
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="retrain or reinstall"):
        load_model_folder(folder)


def test_a_newer_format_is_refused_with_what_to_do(small_model, tmp_path: Path) -> None:
    folder = save_model(small_model, tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="pip install -U newsclean"):
        load_model_folder(folder)


def test_a_missing_folder_says_how_to_get_a_model(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="newsclean train"):
        load_model_folder(tmp_path / "nothing")


def test_a_model_from_another_release_loads_with_a_warning(small_model, tmp_path: Path) -> None:
    manifest = dict(small_model.manifest, newsclean_version="0.0.1")
    from dataclasses import replace

    folder = save_model(replace(small_model, manifest=manifest), tmp_path / "m")
    with pytest.warns(ModelVersionWarning, match="retrain"):
        load_model_folder(folder)


def test_the_shipped_model_loads_cleanly() -> None:
    from classifier.api import default_model_path

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Read afresh: the cached model may have been loaded, warnings and all, by an
        # earlier test.
        model = load_model_folder(default_model_path())
    # Its block pass reads a document's last line apart: format 3, which releases that
    # read only formats 1 and 2 refuse rather than misread.
    assert model.manifest["format_version"] == FORMAT_VERSION == 3
    assert load_model() is load_model()  # cached


def test_a_model_without_the_format_two_parts_is_written_and_read_as_format_one(small_training_table, tmp_path: Path) -> None:
    # Format 1 stays loadable by every later release, and a model that needs nothing
    # newer is written so that older releases read it too.
    from classifier.training import TrainingConfig, train

    config = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, vocabulary_coverage=False, block_pass=False)
    model, _ = train(small_training_table, config=config)
    folder = save_model(model, tmp_path / "m")
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == 1
    loaded = load_model_folder(folder)
    assert loaded.block_layer is None and not loaded.vocabulary_coverage
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(model, small_training_table))


def test_second_pass_refuses_lengths_that_do_not_add_up(small_model) -> None:
    context = np.zeros((5, len(small_model.context_mean)))
    with pytest.raises(ValueError, match="add up to 4 paragraphs, but there are 5"):
        small_model.second_pass(context, lengths=[2, 2])
    assert small_model.second_pass(context, lengths=[2, 3]).shape == (5, 3)


def test_cleaning_imports_neither_scikit_learn_nor_pandas(tmp_path: Path) -> None:
    code = (
        "import sys, classifier; classifier.clean('Officials said so.\\nRead more'); "
        "print(sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_folder_retrained_in_place_is_loaded_again(small_model, tmp_path: Path) -> None:
    import dataclasses
    import os

    folder = tmp_path / "m"
    save_model(small_model, folder)
    first = load_model(folder)
    assert load_model(str(folder)) is first  # cached while the folder is unchanged
    other = dataclasses.replace(small_model, temperature=small_model.temperature * 2)
    save_model(other, folder)
    manifest = folder / "manifest.json"
    later = manifest.stat().st_mtime_ns + 10**9  # a clock too coarse to tell the two saves apart
    os.utime(manifest, ns=(later, later))
    second = load_model(folder)
    assert second is not first and second.temperature == pytest.approx(small_model.temperature * 2)


def test_a_file_changed_after_a_first_load_is_checked_again(small_model, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    save_model(small_model, folder)
    load_model(folder)
    weights = folder / "weights.npz"
    _rewrite_arrays(weights, "shape_coef", lambda array: array * 5)
    with pytest.raises(ModelIntegrityError, match="does not match the checksum"):
        load_model(folder)


def _rewrite_arrays(path: Path, name: str, change) -> None:
    """Write ``path`` again as a valid archive with one array changed (not signed)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays[name] = change(arrays[name])
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def test_a_valid_file_that_is_not_the_one_saved_is_refused_by_its_checksum(small_model, tmp_path: Path) -> None:
    # A byte flipped at random breaks the archive or the JSON too: these changes
    # leave files that parse, so only the checksums can tell.
    folder = save_model(small_model, tmp_path / "m")
    _rewrite_arrays(folder / "weights.npz", "shape_coef", lambda array: array * 5)
    with pytest.raises(ModelIntegrityError, match=r"weights\.npz does not match the checksum"):
        load_model_folder(folder)
    folder = save_model(small_model, tmp_path / "m")
    tokens = json.loads((folder / "vocabulary.json").read_text())
    (folder / "vocabulary.json").write_text(json.dumps(tokens[::-1], separators=(",", ":")))
    with pytest.raises(ModelIntegrityError, match=r"vocabulary\.json does not match the checksum"):
        load_model_folder(folder)


def test_a_manifest_edited_and_written_as_saved_is_refused(small_model, tmp_path: Path) -> None:
    from classifier.model import _canonical

    folder = save_model(small_model, tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["default_min_confidence"] = 0.01  # a valid value, written in the saved layout
    (folder / "manifest.json").write_text(_canonical(manifest))
    with pytest.raises(ModelIntegrityError, match="was changed after the model was saved"):
        load_model_folder(folder)


def test_threads_that_ask_at_once_share_one_load(small_model, tmp_path: Path, monkeypatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import classifier.api

    folder = tmp_path / "m"
    save_model(small_model, folder)
    loads = []
    real = classifier.api.load_model_folder

    def counted(path: str):
        loads.append(path)
        return real(path)

    monkeypatch.setattr(classifier.api, "load_model_folder", counted)
    with ThreadPoolExecutor(8) as pool:
        models = list(pool.map(lambda _: load_model(folder), range(16)))
    assert len(loads) == 1 and all(model is models[0] for model in models)


def test_clean_and_classify_take_a_model_folder_path(small_model, tmp_path: Path) -> None:
    import classifier

    folder = tmp_path / "m"
    save_model(small_model, folder)
    text = "The council met on Monday.\nDonate now to keep us going!\n"
    assert classifier.clean(text, model=str(folder)) == classifier.clean(text, model=small_model)
    assert [p.label for p in classifier.classify(text, model=folder)] == [
        p.label for p in classifier.classify(text, model=small_model)
    ]
    with pytest.raises(TypeError, match="model must be a Model"):
        classifier.clean(text, model=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("change", ["format 0", "no n_layers"])
def test_a_hand_written_manifest_with_a_valid_checksum_is_refused_in_one_line(small_model, tmp_path: Path, change: str) -> None:
    from classifier.model import _canonical, _manifest_checksum

    folder = tmp_path / "m"
    save_model(small_model, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if change == "format 0":
        manifest["format_version"] = 0
    else:
        del manifest["n_layers"]
    manifest["checksum"] = _manifest_checksum(manifest)
    (folder / "manifest.json").write_text(_canonical(manifest))
    with pytest.raises((ModelFormatError, ModelIntegrityError), match="retrain"):
        load_model_folder(folder)


def test_an_empty_model_path_is_refused() -> None:
    from classifier import ModelError

    with pytest.raises(ModelError, match="the model path is empty"):
        load_model("")


def test_a_model_from_a_newer_release_says_to_upgrade_and_the_cli_warns_in_one_line(small_model, tmp_path: Path) -> None:
    from dataclasses import replace

    manifest = dict(small_model.manifest, newsclean_version="9.9.0")
    folder = save_model(replace(small_model, manifest=manifest), tmp_path / "m")
    with pytest.warns(ModelVersionWarning, match=r"upgrade newsclean \(pip install -U newsclean\)"):
        load_model_folder(folder)
    command = [sys.executable, "-m", "classifier", "info", "--model", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Warning: model {folder} was trained with newsclean 9.9.0")


def _resigned(folder: Path, *, manifest_change=None, array_change=None) -> None:
    """Change a saved model as a hand would, then sign it again: the checksums pass,
    and only the model's structure can tell."""
    from classifier.model import _canonical, _manifest_checksum, _sha256

    manifest = json.loads((folder / "manifest.json").read_text())
    if array_change is not None:
        with np.load(folder / "weights.npz", allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        array_change(arrays)
        with open(folder / "weights.npz", "wb") as handle:
            np.savez(handle, **arrays)
        manifest["files"]["weights.npz"] = _sha256(folder / "weights.npz")
    if manifest_change is not None:
        manifest_change(manifest)
    manifest["checksum"] = _manifest_checksum(manifest)
    (folder / "manifest.json").write_text(_canonical(manifest))


def _set(key, value):
    return lambda manifest: manifest.__setitem__(key, value)


def _array(name, make):
    return lambda arrays: arrays.__setitem__(name, make(arrays[name]))


def _without(*names):
    def drop(arrays):
        for name in names:
            arrays.pop(name, None)

    return drop


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"manifest_change": _set("stage1_link", "sigmoid")}, "stage1_link 'sigmoid'"),
        ({"manifest_change": _set("n_buckets", 0)}, "n_buckets 0"),
        ({"manifest_change": _set("story_support", "false")}, "story_support is 'false'"),
        ({"manifest_change": _set("default_min_confidence", 5)}, "default_min_confidence 5"),
        ({"manifest_change": _set("n_layers", 1)}, "stage two ends in"),
        ({"manifest_change": _set("format_version", "3")}, "format_version '3', not a whole number"),
        ({"manifest_change": _set("files", None)}, "does not list the model's files"),
        ({"array_change": _array("temperature", lambda a: -a)}, "temperature"),
        ({"array_change": _array("token_coef", lambda a: a[:-1])}, "token_coef has shape"),
        ({"array_change": _array("context_scale", np.zeros_like)}, "context_scale holds values that are not above 0"),
        ({"array_change": _array("shape_coef", lambda a: np.full_like(a, np.nan))}, "shape_coef holds values that are not"),
        ({"array_change": _array("shape_mean", lambda a: a.astype(np.int64))}, "shape_mean holds int64 values"),
        ({"array_change": _array("temperature", lambda a: a.astype(str))}, "the temperature holds <U"),
        ({"manifest_change": _set("temperature", 2.5)}, "not the 2.5 its manifest records"),
        (
            {"manifest_change": _set("block_at_end", True), "array_change": _without("block_weights", "block_bias")},
            "block_at_end is set, but the model has no block pass",
        ),
    ],
)
def test_a_resigned_model_that_cannot_work_is_refused_naming_what_is_wrong(
    small_model, tmp_path: Path, change: dict, problem: str
) -> None:
    folder = tmp_path / "m"
    save_model(small_model, folder)
    _resigned(folder, **change)
    with pytest.raises((ModelFormatError, ModelIntegrityError), match="retrain or reinstall") as raised:
        load_model_folder(folder)
    assert problem in str(raised.value)


def test_a_manifest_nested_too_deep_and_an_unreadable_file_are_model_errors(small_model, tmp_path: Path) -> None:
    import os

    from classifier import ModelError

    folder = tmp_path / "m"
    save_model(small_model, folder)
    (folder / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelIntegrityError, match="nested too deep"):
        load_model_folder(folder)
    save_model(small_model, folder)
    if os.geteuid() != 0:  # root reads whatever the mode says
        (folder / "weights.npz").chmod(0)
        with pytest.raises(ModelError, match=r"cannot read .*weights\.npz"):
            load_model_folder(folder)


def test_stage_two_in_slices_gives_what_it_gives_whole(monkeypatch, seed_text: str) -> None:
    import classifier.model

    model = load_model()
    paragraphs = [line for line in seed_text.splitlines() if line.strip()] * 3
    whole = model.predict_proba(paragraphs)
    monkeypatch.setattr(classifier.model, "STAGE2_ROWS", 4)
    # To single precision, which the network runs in: on some processors BLAS takes
    # another path for another number of rows, and the last bits move (3e-7 seen).
    np.testing.assert_allclose(model.predict_proba(paragraphs), whole, rtol=0, atol=1e-6)


def test_a_manifest_number_too_long_to_read_is_a_damaged_manifest(small_model, tmp_path: Path) -> None:
    folder = save_model(small_model, tmp_path / "m")
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text.replace('"n_layers": ', '"n_layers": ' + "9" * 5000 + ', "x": ', 1))
    with pytest.raises(ModelIntegrityError, match="not a model manifest"):
        load_model_folder(folder)


def _resigned_weights(folder: Path, data: bytes) -> None:
    from classifier.model import _canonical, _manifest_checksum, _sha256

    (folder / "weights.npz").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["weights.npz"] = _sha256(folder / "weights.npz")
    manifest["checksum"] = _manifest_checksum(manifest)
    (folder / "manifest.json").write_text(_canonical(manifest))


def test_weights_that_are_no_archive_are_refused_without_advice_to_load_them_unsafely(small_model, tmp_path: Path) -> None:
    import io
    import pickle

    folder = save_model(small_model, tmp_path / "m")
    for data in (pickle.dumps({"token_coef": [1.0]}), b"\x93NUMPY" + b"\0" * 100):
        _resigned_weights(folder, data)
        with pytest.raises(ModelIntegrityError, match=r"not an \.npz archive") as raised:
            load_model_folder(folder)
        assert "unsafe" not in str(raised.value)
    bare = io.BytesIO()
    np.save(bare, np.zeros(3))
    _resigned_weights(folder, bare.getvalue())
    with pytest.raises(ModelIntegrityError, match=r"not an \.npz archive"):
        load_model_folder(folder)


@pytest.mark.parametrize(
    ("flag_offset", "value", "what"),
    [(6, 0x01, "a member flagged as encrypted"), (8, 99, "a member in an unknown compression")],
)
def test_an_archive_member_numpy_cannot_open_is_a_damaged_model(
    small_model, tmp_path: Path, flag_offset: int, value: int, what: str
) -> None:
    folder = save_model(small_model, tmp_path / "m")
    data = bytearray((folder / "weights.npz").read_bytes())
    # Every local header and central directory entry of the archive, changed alike.
    for signature, offset in ((b"PK\x03\x04", flag_offset), (b"PK\x01\x02", flag_offset + 2)):
        start = data.find(signature)
        while start != -1:
            data[start + offset] = value
            start = data.find(signature, start + 4)
    _resigned_weights(folder, bytes(data))
    with pytest.raises(ModelIntegrityError, match="retrain or reinstall"):
        load_model_folder(folder)


def test_weights_that_overflow_are_refused_rather_than_keeping_every_paragraph(small_model, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    save_model(small_model, folder)
    _resigned(folder, array_change=_array("layer0_weights", lambda a: a * 1e300))
    with pytest.raises(ModelIntegrityError, match="beyond single precision"):
        load_model_folder(folder)
    save_model(small_model, folder)

    def large(arrays: dict) -> None:
        for name in ("layer0_weights", "layer1_weights"):
            arrays[name] = arrays[name] * 1e30

    _resigned(folder, array_change=large)
    model = load_model_folder(folder)  # each weight fits: only what they compute does not
    with pytest.raises(ModelIntegrityError, match="not numbers"), np.errstate(all="ignore"):
        model.predict_proba(["Donate now to keep our newsroom going.", "The mayor said on Tuesday."])


def test_predictions_run_blas_on_one_thread_and_give_the_setting_back(monkeypatch, seed_text: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    threadpoolctl = pytest.importorskip("threadpoolctl")
    import classifier
    from classifier.model import Model

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    seen: list[list[int]] = []
    real = Model._predict_proba_documents

    def spy(self, *arguments):
        seen.append(blas_threads())
        return real(self, *arguments)

    monkeypatch.setattr(Model, "_predict_proba_documents", spy)
    alone = classifier.classify(seed_text)
    # Threads overlapping in and out of predictions: the first in limits, the last out restores.
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: classifier.classify(seed_text), range(32)))
    assert len(seen) == 33 and all(counts == [1] * len(before) for counts in seen)
    assert all(result == alone for result in results)
    assert blas_threads() == before
