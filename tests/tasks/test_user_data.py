"""Your data as a task (``tasks/user_data.py``): reading, kinds, splits, hashes and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks import get_task, user_data
from tasks.errors import InvalidParameterError, UnknownNameError
from tasks.user_data import NoTarget, make_data, rows_needed


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(3.0, 2.0, size=n)
    return pd.DataFrame({"a": a, "b": b, "label": np.where(a + 0.5 * b > 1.5, "yes", "no"),
                         "value": 2.0 * a - b + 0.1 * rng.normal(size=n)})


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def test_a_csv_with_a_text_label_is_a_classification_task(tmp_path: Path) -> None:
    frame = _frame().drop(columns="value")
    task = get_task("data", path=_csv(tmp_path, frame), target_column="label")
    assert task.kind == "classification" and task.loss == "cross_entropy"
    assert task.model.layer_sizes == (2, 32, 1) and task.model.output_activation == "sigmoid"
    assert len(task.x_train) + len(task.x_val) + len(task.x_test) == 120
    # Classes in sorted order: 'no' is 0, 'yes' is 1.
    yes = (frame["label"] == "yes").mean()
    labels = np.concatenate([task.y_train, task.y_val, task.y_test])[:, 0]
    assert labels.mean() == pytest.approx(yes)
    assert isinstance(task.target, NoTarget) and not task.target.is_met({"accuracy": 1.0})
    assert task.target.describe() == "none (fixed budget only)"


def test_a_float_column_is_a_regression_target_standardized_on_the_training_rows(
    tmp_path: Path,
) -> None:
    path = _csv(tmp_path, _frame().drop(columns="label"))
    task = get_task("data", path=path, target_column="value", target_mse=0.2)
    assert task.kind == "regression" and task.loss == "mse"
    assert task.model.output_activation == "identity"
    # Features and target standardized with the training rows' statistics only.
    np.testing.assert_allclose(task.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(task.x_train.std(axis=0), 1.0)
    assert abs(task.y_train.mean()) < 1e-12 and task.y_train.std() == pytest.approx(1.0)
    assert abs(task.x_test.mean(axis=0)).max() > 1e-6  # the test rows were not used
    assert task.target.max_mse == 0.2 and task.target.is_met({"mse": 0.1, "loss": 0.1})


def test_kind_can_be_overridden_and_few_integers_are_classes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60) % 3})
    path = _csv(tmp_path, frame)
    assert get_task("data", path=path, target_column="y").model.layer_sizes[-1] == 3
    task = get_task("data", path=path, target_column="y", kind="regression")
    assert task.kind == "regression" and task.model.layer_sizes[-1] == 1


def test_network_options_and_per_seed_splits(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    task = get_task("data", path=path, target_column="label", hidden=[8, 4],
                    hidden_activation="relu", data_seed=3)
    assert task.model.layer_sizes == (3, 8, 4, 1)
    assert task.model.hidden_activations == ("relu", "relu")
    again = get_task("data", path=path, target_column="label", data_seed=3)
    other = get_task("data", path=path, target_column="label", data_seed=4)
    np.testing.assert_array_equal(again.x_train, task.x_train)
    assert not np.array_equal(other.x_train, task.x_train)


def test_the_content_hash_is_an_option_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    task = get_task("data", path=path, target_column="label")
    digest = task.options["sha256"]
    assert len(digest) == user_data.HASH_DIGITS and digest == user_data.file_hash(Path(path))
    assert get_task("data", path=path, target_column="label", sha256=digest).options == task.options
    _csv(tmp_path, _frame(seed=1))
    with pytest.raises(InvalidParameterError, match=r"data\.csv' has changed since these runs"):
        get_task("data", path=path, target_column="label", sha256=digest)
    assert get_task("data", path=path, target_column="label").options["sha256"] != digest


def test_onehot_encoding_of_text_features(tmp_path: Path) -> None:
    frame = _frame()
    frame["colour"] = np.where(frame["a"] > 0, "red", "blue")
    path = _csv(tmp_path, frame)
    task = get_task("data", path=path, target_column="value", encode="onehot")
    assert task.model.layer_sizes[0] == 2 + 2 + 2  # a, b, label one-hot (2), colour (2)
    assert "2 column(s) one-hot encoded into 6 features" in task.description


def test_an_npz_file_with_x_and_y(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    path = tmp_path / "data.npz"
    np.savez(path, X=x, y=(x[:, 0] > 0).astype(int))
    task = get_task("data", path=str(path))
    assert task.kind == "classification" and task.model.layer_sizes[0] == 3
    np.savez(path, X=x, labels=x[:, 0])
    with pytest.raises(InvalidParameterError, match=r"must hold arrays 'X' .* it holds 'X', "
                                                    r"'labels'"):
        get_task("data", path=str(path))


def test_a_parquet_file(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "data.parquet"
    _frame().to_parquet(path)
    assert get_task("data", path=str(path), target_column="label").kind == "classification"


# --- bad input: one line naming the file and what is wrong ---------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"^The data file '.*nope\.csv' does not "
                                                    r"exist\.$"):
        make_data(path=str(tmp_path / "nope.csv"), target_column="y")


def test_an_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InvalidParameterError, match=r"folder\.csv' must be a regular file .* "
                                                    r"It is a directory\."):
        make_data(path=str(folder), target_column="y")
    path = Path(_csv(tmp_path, _frame()))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who reads any file (root)")
        with pytest.raises(InvalidParameterError, match=r"permission denied"):
            make_data(path=str(path), target_column="label")
    finally:
        path.chmod(0o644)


def test_a_file_of_another_format_or_not_csv(tmp_path: Path) -> None:
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(InvalidParameterError, match=r"data\.xlsx' must end in one of \.csv"):
        make_data(path=str(other), target_column="y")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(InvalidParameterError, match=r"binary\.csv' is not UTF-8 text"):
        make_data(path=str(binary), target_column="b")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidParameterError, match=r"empty\.csv' is empty"):
        make_data(path=str(empty), target_column="b")


def test_a_target_column_that_does_not_exist(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    with pytest.raises(UnknownNameError, match=r"^Unknown target column 'lable' in the data file "
                                               r"'.*data\.csv'\. Available target columns: a, "
                                               r"b, label, value\.$"):
        make_data(path=path, target_column="lable")
    with pytest.raises(InvalidParameterError, match=r"needs a target column .* its columns: "
                                                    r"a, b, label, value"):
        make_data(path=path)


def test_non_numeric_features_without_an_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    with pytest.raises(InvalidParameterError, match=r"data\.csv' has non-numeric feature "
                                                    r"columns: 'label' \(e\.g\. '(yes|no)'\)\. "
                                                    r"Ask for an encoding \(--encode onehot"):
        make_data(path=path, target_column="value")


def test_nan_and_inf_are_counted_and_located(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[[1, 4], "a"] = np.nan
    frame.loc[7, "b"] = np.inf
    path = _csv(tmp_path, frame)
    with pytest.raises(InvalidParameterError) as info:
        make_data(path=path, target_column="label")
    message = str(info.value)
    assert "data.csv' holds 3 missing or infinite values" in message
    # CSV lines: the header is line 1, so row 1 is line 3.
    assert "2 missing (NaN or empty) in column 'a' (lines 3, 6)" in message
    assert "1 infinite in column 'b' (line 9)" in message
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    x[5, 1] = np.nan
    npz = tmp_path / "bad.npz"
    np.savez(npz, X=x, y=np.arange(40) % 2)
    with pytest.raises(InvalidParameterError, match=r"1 missing \(NaN or empty\) in column 'x1' "
                                                    r"\(row 5\)"):
        make_data(path=str(npz))


def test_one_class_and_too_few_rows(tmp_path: Path) -> None:
    one = _frame().assign(label="yes")
    with pytest.raises(InvalidParameterError, match=r"has one class in its target column "
                                                    r"'label' \('yes' in all 120 rows\)"):
        make_data(path=_csv(tmp_path, one, "one.csv"), target_column="label")
    few = _frame(n=5)
    few["label"] = ["yes", "no", "yes", "no", "yes"]
    need = rows_needed(2, 0.25, 0.2)
    with pytest.raises(InvalidParameterError, match=rf"few\.csv' has 5 rows; .* over 2 classes "
                                                    rf"needs at least {need}\."):
        make_data(path=_csv(tmp_path, few, "few.csv"), target_column="label")
    rare = _frame()
    rare.loc[0, "label"] = "maybe"
    with pytest.raises(InvalidParameterError, match=r"too few rows of some classes .* 'maybe' "
                                                    r"\(1 row\)"):
        make_data(path=_csv(tmp_path, rare, "rare.csv"), target_column="label")


def test_rows_needed_is_the_smallest_size_that_splits(tmp_path: Path) -> None:
    need = rows_needed(2, 0.25, 0.2)
    frame = pd.DataFrame({"x": np.arange(float(need)), "y": np.arange(need) % 2})
    assert make_data(path=_csv(tmp_path, frame, "ok.csv"), target_column="y").n_train >= 2
    with pytest.raises(InvalidParameterError, match="needs at least"):
        make_data(path=_csv(tmp_path, frame.iloc[:-1], "short.csv"), target_column="y")


def test_targets_that_do_not_fit_the_kind(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    with pytest.raises(InvalidParameterError, match=r"non-numeric target column 'label'"):
        make_data(path=path, target_column="label", kind="regression", encode="onehot")
    with pytest.raises(InvalidParameterError, match=r"'target_accuracy' .* regression target"):
        make_data(path=path, target_column="value", target_accuracy=0.9, encode="onehot")
    with pytest.raises(InvalidParameterError, match=r"'target_mse' .* holds 2 classes"):
        make_data(path=path, target_column="label", target_mse=0.1)
    with pytest.raises(InvalidParameterError, match=r"'kind' parameter of task 'data' must be "
                                                    r"one of 'auto'"):
        make_data(path=path, target_column="label", kind="ordinal")


def test_a_file_larger_than_memory_is_refused_with_the_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path, _frame(), "big.csv")
    monkeypatch.setattr(user_data, "physical_memory", lambda: 1000)
    with pytest.raises(InvalidParameterError, match=r"big\.csv' would need about .* GiB of "
                                                    r"memory as a task by its estimate \(about "
                                                    r"1\d\d rows x 4 columns"):
        make_data(path=path, target_column="label")
