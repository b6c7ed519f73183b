"""The task suite: a registry of task factories and :func:`get_task`.

``TASKS`` maps each registry key to a factory that takes only keyword knobs (``num_bits``,
``frequency``, ...). Every task additionally accepts the network overrides in
``tasks.base.MODEL_OPTIONS`` (width, activations, init, loss); a task whose network is a torch
module (``tasks/network.py``: digits_cnn, adding, logistic_map) takes only ``loss`` and
``output_activation`` of them, and its own knobs change the module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tasks._validation import check_sizes, unknown_name
from tasks.base import MODEL_OPTIONS, Target, Task, with_options
from tasks.chaotic import make_logistic_map
from tasks.cnn import make_digits_cnn
from tasks.control import (
    make_acrobot,
    make_cartpole,
    make_mountaincar,
    make_mountaincar_continuous,
)
from tasks.errors import InvalidParameterError
from tasks.functions import make_abs, make_exp, make_poly, make_sin2d, make_sinc, make_step
from tasks.logic import make_and, make_nand, make_nor, make_or, make_xnor, make_xor
from tasks.lotka_volterra import make_lotka
from tasks.mlp import ModelSpec
from tasks.nondiff import (
    make_cancer_binary,
    make_circle_zero_one,
    make_parity_sign,
    make_sine_int4,
)
from tasks.parity import make_parity
from tasks.playground import make_blobs, make_circle, make_quadrants, make_spirals
from tasks.plugins import (
    BUILTIN,
    TASK_GROUP,
    load_pending,
    load_plugins,
    task_factory_problem,
)
from tasks.real import make_cancer, make_diabetes, make_digits, make_iris, make_wine
from tasks.sequence import make_adding
from tasks.sine import make_sine
from tasks.user_data import make_data
from tasks.zorb_paper import (
    make_zorb_digits,
    make_zorb_iris,
    make_zorb_sinc,
    make_zorb_spirals,
    make_zorb_xor,
)

TaskFactory = Callable[..., Task]

TASKS: dict[str, TaskFactory] = {
    "and": make_and,
    "or": make_or,
    "nand": make_nand,
    "nor": make_nor,
    "xor": make_xor,
    "xnor": make_xnor,
    "parity": make_parity,
    "sine": make_sine,
    "exp": make_exp,
    "poly": make_poly,
    "abs": make_abs,
    "step": make_step,
    "sinc": make_sinc,
    "sin2d": make_sin2d,
    "lotka": make_lotka,
    "circle": make_circle,
    "quadrants": make_quadrants,
    "blobs": make_blobs,
    "spirals": make_spirals,
    "iris": make_iris,
    "wine": make_wine,
    "cancer": make_cancer,
    "digits": make_digits,
    "digits_cnn": make_digits_cnn,
    "diabetes": make_diabetes,
    "zorb_xor": make_zorb_xor,
    "zorb_iris": make_zorb_iris,
    "zorb_spirals": make_zorb_spirals,
    "zorb_sinc": make_zorb_sinc,
    "zorb_digits": make_zorb_digits,
    "parity_sign": make_parity_sign,
    "cancer_binary": make_cancer_binary,
    "sine_int4": make_sine_int4,
    "circle_zero_one": make_circle_zero_one,
    "cartpole": make_cartpole,
    "acrobot": make_acrobot,
    "mountaincar": make_mountaincar,
    "mountaincar_continuous": make_mountaincar_continuous,
    "adding": make_adding,
    "logistic_map": make_logistic_map,
    "data": make_data,
}


def task_knobs(name: str) -> tuple[str, ...]:
    """The family knobs a task factory accepts (without the shared network options)."""
    factory = get_factory(name)
    return tuple(inspect.signature(factory).parameters)


def get_factory(name: str) -> TaskFactory:
    """Look a task factory up by registry key; unknown names list the valid ones."""
    if name not in TASKS:
        load_pending()  # a plugin whose module was mid-import when TASKS was built
    try:
        return TASKS[name]
    except KeyError:
        raise unknown_name("task", name, TASKS) from None


def get_task(name: str, **options: Any) -> Task:
    """Build a registered task with its knobs and network overrides.

    Example:
        >>> get_task("parity", num_bits=4, hidden=8).model.layer_sizes
        (4, 8, 1)

    Raises:
        UnknownNameError: unknown task or option (the message lists the valid ones).
        InvalidParameterError: an option value is out of range.
    """
    factory = get_factory(name)
    knobs = task_knobs(name)
    unknown = [k for k in options if k not in knobs and k not in MODEL_OPTIONS]
    if unknown:
        raise unknown_name(
            "option", unknown[0], (*knobs, *MODEL_OPTIONS), where=f" for task {name!r}"
        )
    check_sizes(options, f"task {name!r}")
    task = factory(**{k: v for k, v in options.items() if k in knobs})
    if not isinstance(task, Task):  # a plugin's factory (tasks/plugins.py) may return anything
        raise InvalidParameterError(
            f"The factory of task {name!r} ({TASK_ORIGINS.get(name, BUILTIN)}) must return a "
            f"Task. Got {type(task).__name__} instead."
        )
    return with_options(task, **{k: v for k, v in options.items() if k in MODEL_OPTIONS})


#: Where each task comes from: ``built-in``, or the plugin's ``distribution version``.
TASK_ORIGINS: dict[str, str] = {name: BUILTIN for name in TASKS}
# Last, so a plugin module may import anything above from ``tasks`` (tasks/plugins.py).
load_plugins(TASK_GROUP, "task", TASKS, TASK_ORIGINS, task_factory_problem)

__all__ = [
    "MODEL_OPTIONS", "TASKS", "TASK_ORIGINS", "ModelSpec", "Target", "Task", "get_task",
    "task_knobs",
]
