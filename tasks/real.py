"""Real data shipped with scikit-learn (no downloads): iris, wine, breast cancer, digits, diabetes.

Nobody on this project wrote these data sets, which is their point: the other tasks are built to
be learnable, these are not.

Preparation, the same for all five:

* Exact duplicate feature rows are dropped (keeping the first) before anything else, so that no
  test example also sits in the training set (iris has one such pair).
* Split: ``train_test_split`` with ``test_fraction`` of the rows held out, drawn from
  ``data_seed`` and stratified: by class for the classification sets, by target quintile for
  diabetes, so both splits see the whole range.
* Features are standardized with the mean and standard deviation of the *training* split only
  (``StandardScaler`` fitted on it); the test split is transformed with the same statistics, so
  nothing about the test set leaks into training. Constant features (border pixels of digits)
  keep a scale of 1.
* Labels: one-hot with a softmax output for the multi-class sets, a single 0/1 output with a
  sigmoid for breast cancer (1 = benign, scikit-learn's coding); the loss is the cross-entropy.
  The diabetes target is standardized with the training split's statistics, loss MSE.

Default networks: one tanh hidden layer, Glorot init: ``4-8-3`` (iris), ``13-8-3`` (wine),
``30-8-1`` (breast cancer), ``64-32-10`` (digits), ``10-16-1`` (diabetes).

Targets are what a *linear* model reaches on the same standardized features, so a network meets
them when it does at least as well as a linear model, rounded down so that a few hard examples
do not decide success. Logistic regression's train accuracy at ``test_fraction=0.25``, data
seeds 0-2 (scikit-learn's default ``C=1``): iris 0.955-0.964, wine 1.0, breast cancer 0.991,
digits 0.999. Hence train accuracy
>= 0.95 (iris), 0.98 (wine), 0.97 (breast cancer), 0.97 (digits). Diabetes is noisy (the best
models explain about half of the variance); its target is the training MSE of ordinary least
squares with an intercept on the same split (0.45-0.53 standardized over seeds 0-2), computed
when the task is built: the network must at least match the linear fit.
"""

from __future__ import annotations

import numpy as np

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import FloatArray, ModelSpec

#: Share of the training rows held out for validation (model selection: the best-validation
#: checkpoint's test metric is what the report shows; the test split never chooses anything).
VAL_FRACTION = 0.2


def deduplicate(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Drop repeated feature rows, keeping the first, in the original order."""
    _, first = np.unique(x, axis=0, return_index=True)
    keep = np.sort(first)
    return x[keep], y[keep]


Splits = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


def _split(
    name: str,
    loader: str,
    test_fraction: float,
    data_seed: int,
    *,
    classes: bool,
    val_fraction: float = 0.0,
) -> Splits:
    """Load one bundled data set, deduplicate it, then :func:`split_and_standardize` it.

    ``loader`` names the ``sklearn.datasets`` function. scikit-learn is imported here, not at
    module level, because importing it costs about half a second that ``import tasks`` should
    not pay when no real data set is used.
    """
    from sklearn import datasets

    owner = f"task {name!r}"
    check_interval(test_fraction, "test_fraction", owner, low=0.05, high=0.9)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    check_interval(val_fraction, "val_fraction", owner, low=0.0, high=0.5)
    bunch = getattr(datasets, loader)()
    x, y = deduplicate(np.asarray(bunch.data, dtype=np.float64),
                        np.asarray(bunch.target, dtype=np.float64))
    return split_and_standardize(x, y, test_fraction, data_seed, classes=classes,
                                 val_fraction=val_fraction)


def split_and_standardize(
    x: FloatArray,
    y: FloatArray,
    test_fraction: float,
    data_seed: int,
    *,
    classes: bool,
    val_fraction: float = 0.0,
) -> Splits:
    """Split rows (stratified) into train, validation and test; standardize the features.

    The one preparation every real-data task shares (the bundled sets here, a user's file in
    ``tasks/user_data.py``), so a split means the same thing wherever it is drawn.

    Returns ``x_train, x_val, x_test, y_train, y_val, y_test``. ``test_fraction`` of the rows
    are held out for testing, drawn from ``data_seed`` and stratified: by class when
    ``classes`` (``y`` holds class codes), by target quintile otherwise, so both splits cover
    the target's range. The validation rows are carved from the training split
    (``val_fraction`` of it, stratified the same way), so the test split stays exactly what it
    is without one; features are standardized with the remaining training rows' statistics
    only (constant features keep a scale of 1), so nothing about the held-out rows leaks into
    training.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    # Regression is stratified by target quintile, so both splits cover the target's range.
    strata = y if classes else np.digitize(y, np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
    x_train, x_test, y_train, y_test, strata_train, _ = train_test_split(
        x, y, strata, test_size=test_fraction, random_state=data_seed, stratify=strata
    )
    if val_fraction > 0:
        x_train, x_val, y_train, y_val = train_test_split(
            x_train, y_train, test_size=val_fraction, random_state=data_seed,
            stratify=strata_train,
        )
    else:
        x_val, y_val = x_train[:0], y_train[:0]
    scaler = StandardScaler().fit(x_train)
    x_val = scaler.transform(x_val) if len(x_val) else x_val
    return scaler.transform(x_train), x_val, scaler.transform(x_test), y_train, y_val, y_test


def _classification_task(
    name: str,
    loader: str,
    hidden: int,
    min_accuracy: float,
    *,
    test_fraction: float,
    val_fraction: float,
    data_seed: int,
    what: str,
) -> Task:
    x_train, x_val, x_test, y_train, y_val, y_test = _split(
        name, loader, test_fraction, data_seed, classes=True, val_fraction=val_fraction
    )
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if num_classes == 2:
        y_tr, y_va, y_te = y_train[:, None], y_val[:, None], y_test[:, None]
        n_out, output = 1, "sigmoid"
    else:
        eye = np.eye(num_classes)
        y_tr, y_va, y_te = (eye[y.astype(int)] for y in (y_train, y_val, y_test))
        n_out, output = num_classes, "softmax"
    return Task(
        name=name,
        family="real",
        kind="classification",
        x_train=x_train,
        y_train=y_tr,
        x_test=x_test,
        y_test=y_te,
        x_val=x_val,
        y_val=y_va,
        model=ModelSpec.build(x_train.shape[1], (hidden,), n_out, hidden_activation="tanh",
                              output_activation=output, init="glorot"),
        loss="cross_entropy",
        target=Target(min_accuracy=min_accuracy),
        options={"test_fraction": test_fraction, "val_fraction": val_fraction,
                 "data_seed": data_seed},
        description=(
            f"{what} (scikit-learn), {len(x_train)} train / {len(x_val)} validation / "
            f"{len(x_test)} test rows, stratified, "
            f"standardized with train statistics; target train accuracy >= {min_accuracy:g}."
        ),
    )


def make_iris(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Iris: 4 flower measurements, 3 species, 149 distinct rows (4-8 tanh-3 softmax).

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
    """
    return _classification_task("iris", "load_iris", 8, 0.95,
                                test_fraction=test_fraction, val_fraction=val_fraction,
                                data_seed=data_seed, what="Iris")


def make_wine(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Wine: 13 chemical measurements, 3 cultivars, 178 rows (13-8 tanh-3 softmax).

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
    """
    return _classification_task("wine", "load_wine", 8, 0.98,
                                test_fraction=test_fraction, val_fraction=val_fraction,
                                data_seed=data_seed, what="Wine")


def make_cancer(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Breast cancer (Wisconsin diagnostic): 30 features, benign or malignant (30-8 tanh-1).

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
    """
    return _classification_task("cancer", "load_breast_cancer", 8, 0.97,
                                test_fraction=test_fraction, val_fraction=val_fraction,
                                data_seed=data_seed,
                                what="Breast cancer (Wisconsin diagnostic)")


def make_digits(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Digits: 8x8 images of handwritten digits, 10 classes, 1797 rows (64-32 tanh-10 softmax).

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
    """
    return _classification_task("digits", "load_digits", 32, 0.97,
                                test_fraction=test_fraction, val_fraction=val_fraction,
                                data_seed=data_seed,
                                what="Digits (8x8)")


def make_diabetes(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Diabetes: 10 baseline variables -> disease progression after a year (10-16 tanh-1 linear).

    Target: train MSE no worse than ordinary least squares on the same split (module docstring).

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the split (stratified by target quintile).
    """
    x_train, x_val, x_test, y_train, y_val, y_test = _split(
        "diabetes", "load_diabetes", test_fraction, data_seed, classes=False,
        val_fraction=val_fraction,
    )
    mean, std = y_train.mean(), y_train.std()
    y_tr, y_va, y_te = (((y - mean) / std)[:, None] for y in (y_train, y_val, y_test))
    design = np.column_stack([x_train, np.ones(len(x_train))])
    coef, *_ = np.linalg.lstsq(design, y_tr, rcond=None)
    ols_mse = float(np.mean((design @ coef - y_tr) ** 2))
    return Task(
        name="diabetes",
        family="real",
        kind="regression",
        x_train=x_train,
        y_train=y_tr,
        x_test=x_test,
        y_test=y_te,
        x_val=x_val,
        y_val=y_va,
        model=ModelSpec.build(x_train.shape[1], (16,), 1, hidden_activation="tanh",
                              output_activation="identity", init="glorot"),
        loss="mse",
        target=Target(max_mse=ols_mse),
        options={"test_fraction": test_fraction, "val_fraction": val_fraction,
                 "data_seed": data_seed},
        description=(
            f"Diabetes (scikit-learn), {len(x_train)} train / {len(x_val)} validation / "
            f"{len(x_test)} test rows, "
            f"stratified by target quintile, features and target standardized with train "
            f"statistics; target train MSE <= {ols_mse:.4f} (least squares on this split)."
        ),
    )
