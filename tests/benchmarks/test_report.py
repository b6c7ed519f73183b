"""The report builds from a synthetic raw file: every figure drawn and referenced, HTML offline."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.records import RecordWriter, RunRecord, read_records
from benchmarks.report.analysis import TaskGroup
from benchmarks.report.document import ReportFiles, build_report, figures_dir_for
from benchmarks.report.figures import TASK_FIGURES
from benchmarks.report.html import github_slug, markdown_to_html
from benchmarks.report.sections import REPORT_SECTIONS, ReportSection, SectionInputs
from benchmarks.report.stats import ert, ert_bootstrap
from benchmarks.run_all import main
from solvers import SOLVERS
from tasks import get_task

_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


def _record(
    task_name: str,
    options: dict[str, Any],
    solver: str,
    seed: int,
    *,
    solved_at: int | None,
    iterations: int = 60,
    stop: str | None = None,
    start_loss: float = 1.0,
) -> RunRecord:
    """A plausible record: a loss falling geometrically over a log-spaced trace.

    ``solved_at`` is the iteration at which the target is met (``None``: never).
    """
    task = get_task(task_name, **options)
    n = task.n_train
    last = solved_at if solved_at is not None else iterations
    its = sorted({0, *range(11), *np.unique(np.geomspace(1, last, 25).astype(int)), last})
    its = [i for i in its if i <= last]
    final_loss = 0.005 if solved_at is not None else 0.2
    per_it = 40 if solver == "ga" else 1
    trace = []
    for i in its:
        loss = start_loss * (final_loss / start_loss) ** (i / last)
        point: dict[str, Any] = {
            "iteration": i,
            "evaluations": i * n * per_it,
            "backward": i * n if per_it == 1 else 0,
            "solver_seconds": 1e-4 + i * 2e-4 * per_it,
            "loss": loss,
            "mse": loss,
            "accuracy": 1.0 if (solved_at is not None and i == last) else 0.75,
        }
        if task.kind == "regression":
            point["accuracy"] = None
        trace.append(point)
    if stop == "diverged":
        trace[-1] = {**trace[-1], "loss": math.nan, "mse": math.nan}
    final = {"loss": trace[-1]["loss"], "mse": trace[-1]["mse"]}
    if task.kind == "classification":
        final["accuracy"] = trace[-1]["accuracy"]
    rng = np.random.default_rng([seed, len(solver)])
    hit = trace[-1] if solved_at is not None else None
    extra = {"rollout_rmse": 0.1 * (seed + 1)} if task_name == "lotka" else {}
    return RunRecord(
        key=f"{task_name}-{solver}-{seed}-{sorted(options.items())}",
        suite="synthetic",
        task=task_name,
        family=task.family,
        task_options=dict(task.options),
        model=task.model.describe(),
        num_params=task.num_params,
        n_train=n,
        target=task.target.describe(),
        solver=solver,
        config=SOLVERS[solver]().config(),
        iteration_unit=SOLVERS[solver].iteration,
        seed=seed,
        budget={"max_iterations": None, "max_evaluations": 10**6, "max_seconds": 1.0},
        stop_reason=stop or ("target_reached" if hit else "max_evaluations"),
        iterations=last,
        evaluations=trace[-1]["evaluations"],
        backward=trace[-1]["backward"],
        solver_seconds=trace[-1]["solver_seconds"],
        eval_seconds=0.01,
        wall_seconds=0.02,
        iterations_to_target=hit["iteration"] if hit else None,
        evaluations_to_target=hit["evaluations"] if hit else None,
        seconds_to_target=hit["solver_seconds"] if hit else None,
        final_train=final,
        final_test=dict(final),
        extra_metrics=extra,
        trace=trace,
        error="",
        final_params=rng.normal(size=task.num_params).tolist(),
        environment={
            "python": "3.11",
            "platform": "test",
            "cpu": "synthetic CPU",
            "cpu_count": 2,
            "versions": {"numpy": "x"},
            "git_revision": "abc123",
            "threads": 1,
        },
        timestamp=f"2026-01-01T00:00:0{seed}+00:00",
    )


def synthetic_records() -> list[RunRecord]:
    """Four task families, a scaling knob, three solvers, failures, a divergence, an error and
    an unsupported pair."""
    records: list[RunRecord] = []
    plan: list[tuple[str, dict[str, Any]]] = [
        ("xor", {}),
        ("sine", {}),
        ("sin2d", {"num_train": 32, "num_test": 12}),
        ("lotka", {"derivatives": "numerical", "points_per_trajectory": 20}),
        ("parity", {"num_bits": 3}),
        ("parity", {"num_bits": 4}),
    ]
    for task_name, options in plan:
        scale = 2 ** options.get("num_bits", 0)
        for seed in range(3):
            records.append(
                _record(
                    task_name,
                    options,
                    "sgd",
                    seed,
                    solved_at=None if seed == 2 else 10 * scale + 3 * seed,
                )
            )
            records.append(
                _record(task_name, options, "adam", seed, solved_at=20 + 5 * seed, start_loss=1.5)
            )
            records.append(
                _record(
                    task_name,
                    options,
                    "ga",
                    seed,
                    solved_at=10 + seed if seed != 1 else None,
                    stop="diverged" if (seed == 1 and task_name == "sine") else None,
                )
            )
    broken = _record("xor", {}, "adam", 3, solved_at=None)
    records.append(
        RunRecord(
            **{
                **broken.__dict__,
                "stop_reason": "error",
                "seed": 3,
                "error": "RuntimeError: synthetic failure\ntraceback...",
            }
        )
    )
    unsupported = _record("xor", {}, "ga", 5, solved_at=None)
    records.append(
        RunRecord(
            **{
                **unsupported.__dict__,
                "solver": "cmaes",
                "config": SOLVERS["cmaes"]().config(),
                "stop_reason": "unsupported",
                "error": "cmaes cannot run this synthetic pair",
                "trace": [],
                "final_params": [],
                "final_train": {},
                "final_test": {},
            }
        )
    )
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportFiles, str, str]:
    out = tmp_path_factory.mktemp("results")
    raw = out / "raw" / "synthetic.jsonl"
    with RecordWriter(raw) as writer:
        for r in synthetic_records():
            writer.write(r)
    records = read_records([raw]).records
    files = build_report(records, out / "report-synthetic.md", "synthetic report", root=out)
    return files, files.markdown.read_text(), files.html.read_text()


@pytest.mark.slow
def test_every_expected_figure_is_drawn(built: tuple[ReportFiles, str, str]) -> None:
    files, _, _ = built
    assert files.failed_figures == ()
    names = {p.name for p in files.figures}
    expected = {
        "success.png",
        "ecdf.png",
        "performance-profiles.png",
        "paired-wins.png",
        "convergence-xor.png",
        "convergence-sine.png",
        "boundary-xor.png",
        "function-sine.png",
        "scaling-parity-num-bits.png",
    }
    assert expected <= names
    assert any(n.startswith("surface-sin2d") for n in names)
    assert any(n.startswith("phase-lotka") for n in names)
    assert sum(n.startswith("convergence-parity") for n in names) == 2
    assert all(p.stat().st_size > 5_000 for p in files.figures)


@pytest.mark.slow
def test_every_figure_is_referenced_and_every_reference_exists(
    built: tuple[ReportFiles, str, str],
) -> None:
    files, md, _ = built
    folder = figures_dir_for(files.markdown)
    assert folder.name == "figures-synthetic"
    on_disk = {p.relative_to(files.markdown.parent).as_posix() for p in folder.glob("*.png")}
    referenced = set(_IMAGE.findall(md))
    assert referenced == on_disk
    assert all(not ref.startswith(("/", "http")) for ref in referenced)


@pytest.mark.slow
def test_html_is_self_contained(built: tuple[ReportFiles, str, str]) -> None:
    _, md, html = built
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == len(_IMAGE.findall(md))
    assert 'src="figures' not in html
    assert "<script" not in html and "<link" not in html
    assert html.startswith("<!DOCTYPE html>")


@pytest.mark.slow
def test_sections_and_honesty_content(built: tuple[ReportFiles, str, str]) -> None:
    _, md, _ = built
    for heading in (
        "## Verdict",
        "## Protocol",
        "## Facts",
        "## How to read this report",
        "## Summary across tasks",
        "## Paired comparisons",
        "## Per task",
        "## Scaling",
        "## Accounting: what each solver's iteration and evaluation are",
        "## Environment",
        "## Caveats",
        "## Runs that failed with an error",
    ):
        assert heading in md
    assert "not applicable: cmaes cannot run this synthetic pair" in md
    assert "RuntimeError: synthetic failure" in md
    assert "rollout_rmse" in md  # extra metrics get a column
    assert "points_per_trajectory=20" in md  # knob values are shown
    assert "diverged 1" in md
    assert "synthetic CPU" in md and "abc123" in md
    assert "**PyGAD overhead.**" in md
    # The accounting line comes from the solver docstring's "Evaluations:" line.
    assert "`N` forward and `N` backward single-example passes per iteration." in md


@pytest.mark.slow
def test_ert_cells_equal_the_statistics(built: tuple[ReportFiles, str, str]) -> None:
    """The xor table's adam row: 3 successes out of 4 runs (one error), ERT with its interval."""
    _, md, _ = built
    records = [r for r in synthetic_records() if r.task == "xor" and r.solver == "adam"]
    costs = [
        float(r.evaluations if r.evaluations_to_target is None else r.evaluations_to_target)
        for r in records
    ]
    ok = [r.success for r in records]
    expected = ert(costs, ok)
    lo, hi = ert_bootstrap(costs, ok, seed=_crc("xor", "adam", "evaluations"), n_boot=2000)
    section = md.split("### xor", 1)[1].split("###", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| adam | 4 |"))
    assert "3/4" in row
    assert f"{expected:,.0f} [{lo:,.0f}–{hi:,.0f}]" in row


def _crc(*parts: str) -> int:
    import zlib

    return zlib.crc32("|".join(parts).encode())


@pytest.mark.slow
def test_contents_links_point_at_headings(built: tuple[ReportFiles, str, str]) -> None:
    _, md, html = built
    contents = md.split("## Contents", 1)[1].split("\n## ", 1)[0]
    anchors = re.findall(r"\]\(#([^)]+)\)", contents)
    assert "per-task" in anchors and "xor" in anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in html


def _one_zorb_record(tmp_path: Path) -> list[RunRecord]:
    records = [r for r in synthetic_records() if r.task == "xor" and r.solver == "sgd"]
    (tmp_path / "raw").mkdir()
    with RecordWriter(tmp_path / "raw" / "zorb.jsonl") as writer:
        writer.write(records[0])
    return records


@pytest.mark.slow
def test_registered_sections_are_included_when_their_records_exist(tmp_path: Path) -> None:
    records = _one_zorb_record(tmp_path)
    seen: list[int] = []

    def study(inputs: SectionInputs) -> list[str]:
        seen.append(len(inputs.records))
        return ["ZORB was measured.", ""]

    sections = (
        ReportSection(title="ZORB claim", record_files=("zorb", "zorb_claim"), lines=study),
        ReportSection(
            title="Bench", record_files=(), lines=lambda i: [f"bench table from {i.root.name}"]
        ),
        ReportSection(title="Absent study", record_files=("absent",), lines=lambda i: ["no"]),
    )
    files = build_report(records, tmp_path / "report.md", "s", root=tmp_path, sections=sections)
    md = files.markdown.read_text()
    assert "## ZORB claim\n\nZORB was measured." in md
    assert seen == [1]
    assert f"## Bench\n\nbench table from {tmp_path.name}" in md
    assert "## Absent study" not in md
    assert files.failed_sections == ()
    assert (tmp_path / "figures").is_dir()


@pytest.mark.slow
def test_a_failing_section_is_reported_not_dropped(tmp_path: Path) -> None:
    records = _one_zorb_record(tmp_path)

    def broken(inputs: SectionInputs) -> list[str]:
        raise KeyError("final_train")

    sections = (ReportSection(title="Broken study", record_files=("zorb",), lines=broken),)
    files = build_report(records, tmp_path / "report.md", "s", root=tmp_path, sections=sections)
    md = files.markdown.read_text()
    assert "## Broken study\n\n*This section could not be built: KeyError: 'final_train'.*" in md
    assert "## Sections that failed\n\n- Broken study: KeyError: 'final_train'" in md
    assert files.failed_sections == ("Broken study: KeyError: 'final_train'",)


def test_default_sections_are_the_studies_then_the_benchmark_table() -> None:
    assert [s.title for s in REPORT_SECTIONS] == [
        "The write-up, reproduced", "ZORB claim", "L-BFGS against scikit-learn's L-BFGS",
        "Control tasks: published reference points", "Performance (pytest-benchmark)"]


@pytest.mark.slow
def test_report_only_rebuilds_report_and_html_from_raw_records(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "smoke.jsonl"
    with RecordWriter(raw) as writer:
        for r in synthetic_records():
            if r.task == "xor":
                writer.write(r)
    assert main(["--report-only", "--suite", "smoke", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report-smoke.md").exists()
    assert (tmp_path / "report-smoke.html").exists()
    assert (tmp_path / "figures-smoke" / "boundary-xor.png").exists()


@pytest.mark.slow
def test_stale_figures_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "figures"
    folder.mkdir()
    (folder / "convergence-gone.png").write_bytes(b"old")
    records = [r for r in synthetic_records() if r.task == "xor" and r.solver == "sgd"]
    build_report(records, tmp_path / "report.md", "stale", root=tmp_path)
    assert not (folder / "convergence-gone.png").exists()


def test_empty_records_give_a_report_saying_so(tmp_path: Path) -> None:
    files = build_report([], tmp_path / "report.md", "empty", root=tmp_path)
    assert "No records." in files.markdown.read_text()
    assert files.html.exists()


def test_markdown_subset_renders_to_html(tmp_path: Path) -> None:
    md = "\n".join(
        [
            "## A *b* `c<d>`",
            "",
            "para **bold** and [link](#a-b-cd)",
            "",
            "| x | y |",
            "|---|---|",
            "| 1 \\| 2 | `z` |",
            "",
            "- one",
            "- two",
            "",
            "![missing](nope.png)",
        ]
    )
    html = markdown_to_html(md, tmp_path).replace("\n", "")
    assert '<h2 id="a-b-cd">A <em>b</em> <code>c&lt;d&gt;</code></h2>' in html
    assert "<strong>bold</strong>" in html and '<a href="#a-b-cd">link</a>' in html
    assert "<td>1 | 2</td><td><code>z</code></td>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "missing figure: nope.png" in html


def test_html_embeds_lone_images_as_captioned_figures_and_escapes_raw_html(
    tmp_path: Path,
) -> None:
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    md = "![A *caption*](f.png)\n\n<script>alert(1)</script>\n"
    html = markdown_to_html(md, tmp_path)
    assert '<figure><img src="data:image/png;base64,iVBORw0KGgo=" alt="A caption">' in html
    assert "<figcaption>A caption</figcaption></figure>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_github_slugs() -> None:
    used: dict[str, int] = {}
    assert github_slug("parity (num_bits=4)", used) == "parity-num_bits4"
    assert github_slug("Accounting: what each solver's iteration is", used) == (
        "accounting-what-each-solvers-iteration-is"
    )
    assert github_slug("xor", used) == "xor"
    assert github_slug("xor", used) == "xor-1"


@pytest.mark.slow
def test_a_task_that_no_longer_builds_is_said_not_dropped(tmp_path: Path) -> None:
    records = [
        dataclasses.replace(r, task_options={**r.task_options, "bogus_knob": 1})
        for r in synthetic_records()
        if r.task == "xor" and r.solver == "sgd"
    ]
    md = build_report(records, tmp_path / "report.md", "gone", root=tmp_path).markdown
    text = md.read_text()
    assert "*The task could not be rebuilt from the recorded name and options (" in text
    assert "bogus_knob" in text


_EVERY_TASK = ["tradeoff", "final-metric", "task-ecdf"]


@pytest.mark.parametrize(
    ("task_name", "expected"),
    [
        ("xor", [*_EVERY_TASK, "convergence", "boundary"]),
        ("sine", [*_EVERY_TASK, "convergence", "function"]),
        ("sin2d", [*_EVERY_TASK, "convergence", "surface"]),
        ("lotka", [*_EVERY_TASK, "convergence", "phase"]),
        ("iris", [*_EVERY_TASK, "convergence"]),
    ],
)
def test_figure_registry_picks_figures_from_what_the_task_declares(
    task_name: str, expected: list[str]
) -> None:
    assert len({f.name for f in TASK_FIGURES}) == len(TASK_FIGURES)
    group = TaskGroup(name=task_name, task=task_name, options={}, task_obj=get_task(task_name))
    assert [f.name for f in TASK_FIGURES if f.applies_to(group)] == expected


def test_html_links_every_heading_back_to_the_contents_and_folds_appendices(
    tmp_path: Path,
) -> None:
    """Each ``##``/``###`` heading gets a link back to the contents; a section named in
    ``folded`` becomes a closed ``<details>`` whose summary is its heading, up to the next
    ``##``."""
    from benchmarks.report.html import render_html

    md = "\n".join([
        "# Title", "", "## Contents", "", "- [A](#a)", "- [Long](#long)", "",
        "## A", "", "text a", "", "### A.1", "", "## Long", "", "long text", "",
        "### Long.1", "", "## After", "", "after text", "",
    ])
    page = render_html(md, tmp_path, "t", folded=["Long"])
    assert page.count('class="back" href="#contents"') == 5  # A, A.1, Long, Long.1, After
    assert '<h2 id="contents">Contents</h2>' in page  # no link back to itself
    fold = page[page.index('<details class="fold">'):page.index("</details>")]
    assert '<summary><h2 id="long">Long' in fold and "long text" in fold and "Long.1" in fold
    assert "after text" not in fold and "text a" not in fold
    assert '<a id="to-top" href="#contents">' in page
    assert "<script" not in page


def test_facts_flag_a_benchmark_run_from_another_commit_and_machine(tmp_path: Path) -> None:
    """A saved pytest-benchmark run from another commit or CPU than the records is named in the
    facts, with a link to its section; one from the same commit and CPU is not."""
    import json

    from benchmarks.report.document import _facts

    records = [r for r in synthetic_records() if r.task == "xor"][:2]
    commit = str(records[0].environment.get("git_revision", "")).removesuffix("-dirty")
    cpu = str(records[0].environment.get("cpu", ""))
    section = ReportSection(title="Performance (pytest-benchmark)", record_files=(),
                            lines=lambda inputs: [], benchmarks=True)
    storage = tmp_path / "results" / "benchmarks" / "m"
    storage.mkdir(parents=True)

    def facts(run_commit: str, run_cpu: str) -> str:
        (storage / "0001.json").write_text(json.dumps({
            "benchmarks": [], "datetime": "2026-01-01",
            "commit_info": {"id": run_commit}, "machine_info": {"cpu": {"brand_raw": run_cpu}},
        }))
        return "\n".join(_facts(records, tmp_path / "report.md", tmp_path, [section]))

    flagged = facts("0123456789abcdef", "Other CPU")
    assert "Not measured with these records" in flagged
    assert "commit 0123456789" in flagged and "CPU Other CPU" in flagged
    assert "(#performance-pytest-benchmark)" in flagged
    assert "Not measured with these records" not in facts(commit, cpu)
    # A section that reads no records and is not the benchmark table is never flagged.
    plain = ReportSection(title="Choosing a target", record_files=(), lines=lambda inputs: [])
    (storage / "0001.json").write_text(json.dumps({
        "benchmarks": [], "datetime": "2026-01-01",
        "commit_info": {"id": "0123456789abcdef"}, "machine_info": {"cpu": {"brand_raw": "X"}},
    }))
    assert "Not measured" not in "\n".join(_facts(records, tmp_path / "report.md", tmp_path,
                                                   [plain]))


@pytest.mark.slow
def test_html_renders_in_chromium_with_every_image_and_contents_link(
    built: tuple[ReportFiles, str, str], tmp_path: Path
) -> None:
    """Headless Chromium renders the report; in the DOM it built, every image decodes and every
    ``#anchor`` link (the contents, the links back to it) lands on an element."""
    import base64
    import io
    import shutil
    import subprocess
    from html.parser import HTMLParser

    from PIL import Image

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    files, _, _ = built
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         files.html.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()
            self.links: list[str] = []
            self.images: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if a.get("id"):
                self.ids.add(str(a["id"]))
            if tag == "a" and str(a.get("href") or "").startswith("#"):
                self.links.append(str(a["href"])[1:])
            if tag == "img":
                self.images.append(str(a.get("src") or ""))

    page = Page()
    page.feed(dom)
    assert "contents" in page.ids and len(page.links) > 20
    assert [link for link in page.links if link not in page.ids] == []
    assert page.images
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.load()
            assert image.width > 100 and image.height > 100


def test_a_solvers_arms_share_a_hue_and_differ_in_line_style() -> None:
    """``adam`` and ``adam [tuned]`` get one colour and marker, tuned solid and defaults dashed;
    without any tuned arm every line is solid; two solvers never share a colour."""
    from benchmarks.report.figures.common import linestyle, marker, palette

    colours = palette(["sgd", "sgd [tuned]", "adam", "adam [tuned]"])
    assert colours["adam"] == colours["adam [tuned]"] != colours["sgd"]
    assert marker("adam", colours) == marker("adam [tuned]", colours) != marker("sgd", colours)
    assert (linestyle("adam [tuned]", colours), linestyle("adam", colours)) == ("-", "--")
    single = palette(["sgd", "adam"])
    assert linestyle("sgd", single) == linestyle("adam", single) == "-"


def test_coinciding_names_the_earlier_twin_only_for_equal_curves() -> None:
    from benchmarks.report.figures.common import coinciding

    a = np.array([1.0, 0.5, 0.1])
    curves = {"sgd": a, "numpy-backprop": a.copy(), "adam": a * 1.01}
    assert coinciding(curves) == {"numpy-backprop": "sgd"}
    assert coinciding(curves, rtol=0.02) == {"numpy-backprop": "sgd", "adam": "sgd"}


def test_a_failed_write_leaves_the_previous_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the report is written must not leave an empty or half report: every
    file goes to a temporary file first and replaces the old one only when complete."""
    import errno
    import os

    from benchmarks.report.document import _Figures

    monkeypatch.setattr(_Figures, "make", lambda self, name, draw, alt: [])
    records = [r for r in synthetic_records() if r.task == "xor"]
    md = tmp_path / "report-synthetic.md"
    build_report(records, md, "first", root=tmp_path, sections=())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {"report-synthetic.md", "report-synthetic.html", "synthetic-runs.csv"} <= set(before)

    real_write_text = Path.write_text

    def disk_fills(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)  # half of it lands
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", disk_fills)
    with pytest.raises(OSError, match="No space left"):
        build_report(records[:3], md, "second", root=tmp_path, sections=())
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # the old report, HTML and CSV, byte for byte; no temporary left
