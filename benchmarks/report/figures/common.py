"""What every figure shares: the theme, the solver palette, saving, labels and panel helpers.

Matplotlib with seaborn styling on the Agg backend (no display needed). Colours follow one
palette for the whole report, so a solver has the same colour in every figure.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import io
import math
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from PIL import Image

from benchmarks.report.analysis import TaskGroup
from benchmarks.results import base_solver, write_atomic

DPI = 110
#: Stand-in for an infinite loss (a diverged run) in quantiles; far above any axis shown.
TOP = 1e30
Palette = dict[str, Any]


@contextlib.contextmanager
def theme(style: str = "whitegrid") -> Iterator[None]:
    with (
        sns.axes_style(style),
        sns.plotting_context("notebook", font_scale=0.85),
        warnings.catch_warnings(),
    ):
        # seaborn 0.13's heatmap calls a colormap method matplotlib 3.11 marks as pending
        # deprecation; the figure is unaffected.
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
        yield


def palette(labels: Sequence[str]) -> Palette:
    """One colour per solver (seaborn's "deep": ten well-separated hues), shared by its arms.

    ``adam`` (defaults) and ``adam [tuned]`` get the same hue, so a solver's two arms read as
    one family in every figure; :func:`linestyle` tells them apart (tuned solid, defaults
    dashed) and :func:`marker` tells solvers apart beyond colour, for readers who do not tell
    the hues apart. Pale members are darkened, as thin lines in them vanish on white.
    """
    solvers = list(dict.fromkeys(base_solver(label) for label in labels))
    colours = sns.color_palette("deep" if len(solvers) <= 10 else "husl", len(solvers))
    hue: dict[str, tuple[float, float, float]] = {}
    for name, (r, g, b) in zip(solvers, colours, strict=True):
        if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.65:
            r, g, b = 0.75 * r, 0.75 * g, 0.75 * b
        hue[name] = (r, g, b)
    return {label: hue[base_solver(label)] for label in labels}


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (AttributeError, OSError):
        return None


def release_memory() -> None:
    """Hand the C heap's free pages back to the system, where the C library can (glibc).

    A figure over 10^4 runs allocates and frees tens of megabytes of arrays; glibc keeps such
    freed blocks in its heap, and over a report's hundred figures the process held hundreds
    of megabytes more than it used (measured on 2 * 10^5 records), enough to pass 2 GB.
    """
    # The young generations only: a full collection walks every object of the report (the
    # records' views among them) and cost a second a figure at 2 * 10^5 records.
    gc.collect(1)
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def save(fig: Figure, path: Path) -> Path:
    """Write the figure as a 256-colour PNG.

    The reference report is committed: quantizing to a palette makes the files about three
    times smaller with no visible loss on these flat-coloured plots (checked by eye). No
    "Software" metadata and no dithering, so the same records give byte-identical files.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    # Cleared before it is closed: a figure is a web of reference cycles, which would hold its
    # arrays (10^4 runs' points) until the cyclic collector's next full pass; cleared, they go
    # at once, and ``release_memory`` can hand their pages back.
    fig.clear()
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette_image = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        png = io.BytesIO()
        palette_image.save(png, format="PNG", optimize=True)
    written = write_atomic(path, png.getvalue())  # a reader never sees half a figure
    release_memory()
    return written


def success_heatmap_axes(ax: Any, rates: Any, notes: Any, **kwargs: Any) -> None:
    """Success rates drawn by seaborn from their frame (label x group), each cell annotated
    ``k/n``, on grey where a solver did not run (its rate is NaN)."""
    ax.set_facecolor("#d9d9d9")
    sns.heatmap(rates, ax=ax, vmin=0, vmax=1, cmap="RdYlGn", annot=notes, fmt="", linewidths=1,
                linecolor="white", **kwargs)


def suptitle(fig: Figure, text: str, **kwargs: Any) -> None:
    """A figure title wrapped to the figure's width (a one-panel figure is narrow)."""
    width = max(30, int(fig.get_figwidth() * 11))
    fig.suptitle(textwrap.fill(text, width=width, break_long_words=False), **kwargs)


def legend_below(
    fig: Figure, handles: list[Any], labels: list[str], ncol: int = 4
) -> None:
    """A figure legend under every panel, below their tick and axis labels.

    Call it once the panels are laid out (after ``subplots_adjust`` and the last label): its
    top is anchored at the lowest extent of the drawn axes, so however many rows it has it never
    covers a label (anchored by its bottom, a tall legend grew up into the x labels), and
    ``save`` crops the figure to include it.
    """
    if not handles:
        return
    # Lays out the tick labels, so their extent is known; nothing is rasterized (``save``
    # draws the figure, and a full draw here cost a second a figure).
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    to_figure = fig.transFigure.inverted()
    extents = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    lowest = min((b.transformed(to_figure).y0 for b in extents if b is not None), default=0.0)
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(len(labels), ncol),
        bbox_to_anchor=(0.5, lowest - 0.01),
        frameon=False,
    )


def twin_name(label: str) -> str:
    """A label without its hyperparameters (``sgd (learning_rate=0.1)`` -> ``sgd``), for notes."""
    return label.split(" (", 1)[0]


def short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def wrap(label: str, width: int = 26) -> str:
    """A long label on several lines (at spaces), never cut."""
    return textwrap.fill(label, width=width, break_long_words=False, break_on_hyphens=False)


_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")


def _has_arms(colours: Palette) -> bool:
    return any(base_solver(label) != label for label in colours)


def linestyle(label: str, colours: Palette) -> str:
    """The arm's line style: tuned solid, defaults dashed (solid for all when no label of the
    report has a tuned arm), as in :mod:`~benchmarks.report.figures.fixed_budget`."""
    return "--" if base_solver(label) == label and _has_arms(colours) else "-"


def marker(label: str, colours: Palette) -> str:
    """One marker per solver (shared by its arms): two solvers whose curves coincide (the same
    algorithm in two libraries) stay visible as two marker series on one line."""
    solvers = list(dict.fromkeys(base_solver(lab) for lab in colours))
    name = base_solver(label)
    return _MARKERS[(solvers.index(name) if name in solvers else 0) % len(_MARKERS)]


def markevery(label: str, colours: Palette, points: int) -> tuple[int, int]:
    """Where a label's markers go along a curve of ``points`` points: every label starts at a
    different offset, so the markers of coinciding curves never sit on each other."""
    labels = list(colours)
    k = labels.index(label) if label in labels else 0
    step = max(points // 8, 1)
    return (k * step // max(len(labels), 1) + step // 3) % step, step


def coinciding(curves: dict[str, np.ndarray], rtol: float = 1e-9) -> dict[str, str]:
    """Labels whose curve equals an earlier label's (to ``rtol``): one line would hide the
    other, so the legend names the twin (``{hidden: visible}``). With ``rtol`` of a few percent
    it finds curves that merely look the same on a log axis."""
    out: dict[str, str] = {}
    labels = list(curves)
    for i, a in enumerate(labels):
        for b in labels[:i]:
            ca, cb = curves[a], curves[b]
            if ca.shape == cb.shape and np.allclose(ca, cb, rtol=rtol, atol=1e-12, equal_nan=True):
                out[a] = b
                break
    return out


def metric_name(metric: str) -> str:
    return "MSE" if metric == "mse" else metric



def positive_range(values: Sequence[float]) -> tuple[float, float] | None:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return None
    return min(finite), max(finite)



def stored(group: TaskGroup, label: str) -> list[Any]:
    """Attempted runs of ``label`` whose final parameters the record kept (small networks)."""
    n = group.task_obj.num_params if group.task_obj is not None else -1
    return [r for r in group.attempted(label) if len(r.final_params) == n]


def drawable(group: TaskGroup, label: str) -> list[Any]:
    """Stored runs worth drawing: finite parameters and a finite final loss (not diverged)."""
    return [
        r
        for r in stored(group, label)
        if r.stop_reason != "diverged"
        and np.all(np.isfinite(r.final_params))
        and math.isfinite(r.final_train.get("loss", math.nan))
    ]


#: At most this many runs of one solver are drawn one by one (a line each) in a panel. More are
#: sampled evenly in seed order, the median run always among them: 10^4 seeds' lines would draw
#: as one blot, and computing each network on a grid would take minutes and gigabytes.
MAX_DRAWN = 20


def sample_runs(runs: Sequence[Any], keep: Any) -> list[Any]:
    """``runs`` if there are at most :data:`MAX_DRAWN`, else that many spread evenly over them
    (in their order), ``keep`` among them."""
    if len(runs) <= MAX_DRAWN:
        return list(runs)
    others = [r for r in runs if r is not keep]
    picks = {id(others[int(i)]) for i in np.linspace(0, len(others) - 1, MAX_DRAWN - 1)}
    return [r for r in runs if r is keep or id(r) in picks]


def median_run(runs: Sequence[Any], metric: str) -> Any:
    """The run with the median final training ``metric`` (the lower middle for an even count)."""
    scored = sorted(runs, key=lambda r: (r.final_train.get(metric, math.inf), r.seed))
    return scored[(len(scored) - 1) // 2]


def panel_grid(
    n: int, width: float = 3.6, height: float = 3.4, cols: int = 4
) -> tuple[Figure, np.ndarray]:
    cols = min(n, cols)
    rows = math.ceil(n / cols)
    # Constrained layout keeps multi-line panel titles, tick labels and a shared colour bar from
    # running into each other.
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def left_labels_only(axes: np.ndarray, n: int, cols: int = 4) -> None:
    """Keep the y label on the first column only, so it cannot run into the panel beside it."""
    cols = min(n, cols)
    for k, ax in enumerate(axes[:n]):
        if k % cols:
            ax.set_ylabel("")


def panel_title(group: TaskGroup, label: str, drawn: Sequence[Any], extra: str = "") -> str:
    runs = group.attempted(label)
    text = f"{wrap(label, 30)}\n{sum(r.success for r in runs)}/{len(runs)} reached target"
    skipped = len(stored(group, label)) - len(drawn)
    if skipped:
        text += f"; {skipped} diverged (not drawn)"
    return text + (f"\n{extra}" if extra else "")


def nothing_to_draw(ax: Any) -> None:
    ax.text(
        0.5,
        0.5,
        "no run to draw\n(every run diverged)",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.4",
    )


