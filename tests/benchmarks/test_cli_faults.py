"""The command line under faults: nothing lost, nothing silent (issue 30).

Each fault ends in one ``run_all.py: error: ...`` line with exit status 2 (or 130/143 for a stop
signal) that names the file or entry at fault, never a traceback, a hang or a silent exit 0.
Cases that would hang on a regression (named pipes) or that send signals run the command in a
subprocess with a timeout, so a hang fails the test instead of stalling the suite: one driver
process imports the command once and forks a child per case (``Driver``), started with the
module's first test so it runs beside the others. Commands that write a report skip its PNG
rasterization (``no_png_rendering``): what these tests check is in the exit status, the
messages and the records; the figures' pixels are the report tests' business.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib.figure
import pytest
from PIL import Image

from benchmarks import run_all
from benchmarks.records import read_records
from benchmarks.run_all import main

ROOT = Path(__file__).resolve().parents[2]

#: The smallest real run: one cell of SGD on XOR, five iterations, in this process.
TINY = ["--tasks", "xor", "--solvers", "sgd", "--seeds", "1", "--max-iterations", "5",
        "--executor", "serial", "--no-progress"]


def exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main``; check it exits 2 with one ``run_all.py: error:`` line; return that line."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("run_all.py: error: "), err
    return err


#: Seconds the driver may take in all (a hang times out, and the hung case is named).
DRIVER_TIMEOUT = 120

#: One interpreter imports the command and pays a process's one-off costs once (``warm_worker``,
#: as the runner's process pool does before it forks its workers: the first torch optimizer
#: imports torch._dynamo, seconds), then forks one child per case, each a process of its own
#: (its exit status, its output, its signal); a child still running at the deadline is killed
#: and reported as ``None``. Prints ``{case: [status, stdout, stderr]}``.
DRIVER = """
import contextlib, io, json, os, signal, sys, time, traceback
from benchmarks import run_all
from benchmarks.engine.runner import warm_worker

warm_worker()


def pipes(cases, tiny):
    for name, (out, extra) in cases.items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                code = run_all.main(tiny + ["--out", out] + extra)
            except SystemExit as exc:
                code = exc.code
        print(json.dumps([name, code, err.getvalue()]), flush=True)
    return 0


def stop_signal(sig, argv):
    def slow_report(*args, **kwargs):
        os.kill(os.getpid(), sig)
        time.sleep(30)  # the signal arrives here, mid-report
        raise AssertionError("the signal did not stop the report")

    run_all.write_report = slow_report
    return run_all.main(argv)


jobs, folder, timeout = json.loads(sys.argv[1])
children = {}
for name, (function, args) in jobs.items():
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        for fd, stream in ((1, "out"), (2, "err")):
            os.dup2(os.open(os.path.join(folder, f"{name}.{stream}"),
                            os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        try:
            code = globals()[function](*args)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    children[pid] = name
deadline = time.monotonic() + timeout
statuses = {}
while children and time.monotonic() < deadline:
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid == 0:
        time.sleep(0.02)
    else:
        statuses[children.pop(pid)] = os.waitstatus_to_exitcode(status)
for pid, name in children.items():
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    statuses[name] = None
results = {}
for name in jobs:
    out, err = (open(os.path.join(folder, f"{name}.{s}")).read() for s in ("out", "err"))
    results[name] = [statuses[name], out, err]
print(json.dumps(results))
"""

#: Three commands that used to block forever opening a named pipe: name -> (out, pipe, extra).
PIPE_CASES: dict[str, tuple[str, str, list[str]]] = {
    "records": ("a", "raw/default.jsonl", []),
    "records, --report-only": ("b", "raw/default.jsonl", ["--report-only"]),
    "report": ("c", "report.md", []),
}


class Driver:
    """The module's cases that need a process of their own, started with its first test.

    Each costs seconds of importing the command; forked from one interpreter that imported it
    once, they cost that once, and it runs beside this module's other tests.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        for out, where, _ in PIPE_CASES.values():
            (root / "pipes" / out / where).parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(root / "pipes" / out / where)
        cases = {name: (str(root / "pipes" / out), extra)
                 for name, (out, _, extra) in PIPE_CASES.items()}
        jobs: dict[str, tuple[str, list[object]]] = {"pipes": ("pipes", [cases, TINY])}
        for sig in (signal.SIGINT, signal.SIGTERM):
            argv = [*TINY, "--arms", "defaults", "--out", str(self.signal_out(sig))]
            jobs[sig.name] = ("stop_signal", [int(sig), argv])
        (root / "output").mkdir()
        spec = json.dumps([jobs, str(root / "output"), DRIVER_TIMEOUT])
        self.proc = subprocess.Popen([sys.executable, "-c", DRIVER, spec], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.results: dict[str, tuple[int | None, str, str]] | None = None

    def signal_out(self, sig: signal.Signals) -> Path:
        return self.root / sig.name

    def result(self, name: str) -> tuple[int | None, str, str]:
        """Case ``name``'s (exit status, or ``None`` if it hung; stdout; stderr)."""
        if self.results is None:
            out, err = self.proc.communicate(timeout=DRIVER_TIMEOUT + 30)
            assert self.proc.returncode == 0, err
            self.results = {k: (v[0], v[1], v[2]) for k, v in json.loads(out).items()}
        return self.results[name]


@pytest.fixture(scope="module", autouse=True)
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    started = Driver(tmp_path_factory.mktemp("driver"))
    try:
        yield started
    finally:
        if started.proc.poll() is None:
            started.proc.kill()
        started.proc.communicate()


@pytest.fixture
def no_png_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures are built and saved, but ``savefig`` writes a 1x1 white PNG instead of
    rasterizing them: most of a small report's seconds, and nothing these tests check."""
    blank = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(blank, format="png")

    def savefig(self: matplotlib.figure.Figure, fname: io.BytesIO, **kwargs: object) -> None:
        fname.write(blank.getvalue())

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)


# --- paths that are not regular files ------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "kind", "said"),
    [
        ("raw/default.jsonl", "dir", "It is a directory."),
        ("raw/default.jsonl", "devnull", "It is a symbolic link to '/dev/null', a character "
                                         "device."),
        ("report.md", "dir", "It is a directory."),
        ("report.html", "devnull", "a character device."),
    ],
)
@pytest.mark.parametrize("report_only", [False, True])
def test_a_records_or_report_path_that_is_not_a_regular_file_is_refused(
    where: str, kind: str, said: str, report_only: bool, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / where
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        target.mkdir()
    else:
        target.symlink_to("/dev/null")
    err = exits_2([*TINY, "--out", str(tmp_path), *(["--report-only"] if report_only else [])],
                  capsys)
    assert f"{str(target)!r} (from --out and --suite) must be a regular file" in err
    assert said in err


# --- a failing disk ------------------------------------------------------------------------


def test_a_full_disk_while_recording_keeps_whole_records_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second record's write runs out of space half-way: exit 2, one line naming the file
    and the cause; the first record stays, the half line does not."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell the records file's writes apart")
    records = tmp_path / "raw" / "default.jsonl"
    real_write = os.write
    calls = {"n": 0}

    def filling_write(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}") != str(records):
            return real_write(fd, data)
        calls["n"] += 1
        if calls["n"] == 2:  # half of the second record fits, then the disk is full
            return real_write(fd, bytes(data)[: len(data) // 2])
        if calls["n"] > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", filling_write)
    err = exits_2([*TINY, "--seeds", "3", "--arms", "defaults", "--out", str(tmp_path)], capsys)
    monkeypatch.undo()
    assert f"cannot write the records file {str(records)!r}: No space left on device (ENOSPC)" \
        in err
    assert "kept" in err and "rerun the same command to resume" in err
    result = read_records([records])
    assert len(result.records) == 1 and result.bad_lines == []
    assert records.read_bytes().endswith(b"\n")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES])
def test_a_report_that_cannot_be_written_names_it_and_keeps_the_records(
    code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_report(*args: object, **kwargs: object) -> Path:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(run_all, "write_report", failing_report)
    err = exits_2([*TINY, "--arms", "defaults", "--out", str(tmp_path)], capsys)
    report = tmp_path / "report.md"
    assert f"cannot write the report {str(report)!r}: {os.strerror(code)} " \
           f"({errno.errorcode[code]})." in err
    assert "are kept; rerun with --report-only" in err
    assert len(read_records([tmp_path / "raw" / "default.jsonl"]).records) == 1


# --- the tuned file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "fragments"),
    [
        ([1, 2], ['at $ expected an object with a \'tuned\' member', "found a list ([1, 2])"]),
        ({"tuned": {"xor": []}},
         ['at $["tuned"]["xor"] expected an object mapping solver names to hyperparameters',
          "found a list ([])"]),
        ({"tuned": {"xor": {"sgd": 0.1}}},
         ['at $["tuned"]["xor"]["sgd"] expected an object mapping that solver\'s '
          "hyperparameters to values", "found a number (0.1)"]),
        ({"tuned": {"xr": {"sgd": {}}}},
         ["Unknown task 'xr' at $[\"tuned\"][\"xr\"]", "Available tasks: abs, "]),
        ({"tuned": {"xor": {"adamw": {}}}},
         ["Unknown solver 'adamw' at $[\"tuned\"][\"xor\"][\"adamw\"]",
          "Available solvers: adam, "]),
        ({"tuned": {"xor": {"sgd": {"lr": 0.1}}}},
         ["Unknown hyperparameter 'lr' at $[\"tuned\"][\"xor\"][\"sgd\"][\"lr\"]",
          "Available hyperparameters: batch_size, "]),
        ({"tuned": {"xor": {"sgd": {"learning_rate": -1}}}},
         ['at $["tuned"]["xor"]["sgd"]: The \'learning_rate\' parameter of SGDSolver must be',
          "Got -1 instead"]),
        ({"tuned": {}, "study": "none"},
         ['at $["study"] expected an object', "found a string ('none')"]),
    ],
)
def test_a_tuned_file_of_the_wrong_shape_names_the_file_and_the_entry(
    document: object, fragments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps(document))
    err = exits_2([*TINY, "--tuned", str(path), "--out", str(tmp_path)], capsys)
    assert str(path) in err
    for fragment in fragments:
        assert fragment in err


def test_a_tuned_file_that_is_not_json_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tuned.json"
    path.write_text("{'tuned': {}}")
    err = exits_2([*TINY, "--tuned", str(path), "--out", str(tmp_path)], capsys)
    assert f"The tuned configurations file {str(path)!r} must be the tuned.json" in err
    assert "it is not JSON (Expecting property name" in err


# --- the tuned arm skips nothing without a word -------------------------------------------


@pytest.mark.usefixtures("no_png_rendering")
def test_a_task_without_a_tuned_entry_is_named_once_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any --task-set, even one that sets the default width, changes the entry's key."""
    argv = [*TINY, "--solvers", "sgd,adam", "--task-set", "xor.hidden=2", "--out",
            str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    note = ("tuned arm: no entry for task 'xor' with options {'hidden': 2} (key "
            "'xor(hidden=2)') in ")
    assert err.count(note) == 1
    assert "entries exist for acrobot, cancer_binary, cartpole, circle, circle_zero_one" in err
    assert "ran 2 runs" in out  # the defaults arm only: sgd and adam, one seed


@pytest.mark.usefixtures("no_png_rendering")
def test_a_tuned_entry_without_a_solver_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"tuned": {"xor": {"adam": {"learning_rate": 0.01}}}}))
    assert main([*TINY, "--solvers", "sgd,adam", "--tuned", str(path), "--out",
                 str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert (f"tuned arm: the entry 'xor' in {path} has no configuration for 'sgd'; the tuned "
            f"arm skips it on this task.") in err
    assert "ran 3 runs" in out  # sgd and adam by default, adam tuned


def test_the_tuned_arm_alone_with_nothing_to_run_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = exits_2([*TINY, "--task-set", "xor.hidden=4", "--arms", "tuned", "--out",
                   str(tmp_path)], capsys)
    assert "The '--arms' option asks for the tuned arm only, which has nothing to run: no " \
           "entry for task 'xor' with options {'hidden': 4}" in err
    assert not (tmp_path / "raw" / "default.jsonl").exists()


# --- --set and the tuned arm ---------------------------------------------------------------


@pytest.mark.usefixtures("no_png_rendering")
def test_set_on_a_solver_of_the_tuned_arm_is_refused_and_fine_on_the_defaults_arm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tuned configuration used to win over --set without a word (README: --set)."""
    argv = [*TINY, "--set", "sgd.momentum=0.5", "--out", str(tmp_path)]
    err = exits_2(argv, capsys)
    assert "The '--set' option cannot set sgd.momentum in a run with the tuned arm: the tuned " \
           "arm runs 'sgd' on xor with the configuration in" in err
    assert "(--arms defaults)" in err
    assert main([*argv, "--arms", "defaults"]) == 0
    (record,) = read_records([tmp_path / "raw" / "default.jsonl"]).records
    assert record.config["momentum"] == 0.5 and record.arm == "defaults"


# --- --report-only over a file with no records ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"hello\nworld\n", "none of its 2 non-empty lines is a record (line 1: not JSON"),
        (b"", "it holds no records"),
    ],
)
def test_report_only_over_no_records_exits_2_and_keeps_the_report(
    content: bytes, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "raw" / "default.jsonl"
    records.parent.mkdir()
    records.write_bytes(content)
    report = tmp_path / "report.md"
    report.write_text("the good report\n")
    err = exits_2([*TINY, "--report-only", "--out", str(tmp_path)], capsys)
    assert f"no records to report in {str(records)!r}: {reason}" in err
    assert f"The report {str(report)!r} was left as it was." in err
    assert report.read_text() == "the good report\n"


# --- in a process of their own (``Driver``), last: it has run beside the tests above -----------


def test_a_named_pipe_at_the_records_or_report_path_never_hangs(driver: Driver) -> None:
    """Three commands that used to block forever opening a FIFO; each must exit 2 at once."""
    code, out, err = driver.result("pipes")
    assert code is not None, f"the command hung on a named pipe: {out!r}"
    assert code == 0, err
    results = {name: (code, err) for name, code, err in map(json.loads, out.splitlines())}
    assert set(results) == set(PIPE_CASES)
    for name, (folder, where, _) in PIPE_CASES.items():
        code, err = results[name]
        assert code == 2 and len(err.strip().splitlines()) == 1, (name, err)
        path = driver.root / "pipes" / folder / where
        assert f"{str(path)!r}" in err and "It is a named pipe." in err, (name, err)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_while_the_report_is_written_exits_128_plus_signal(
    sig: signal.Signals, status: int, driver: Driver
) -> None:
    code, _, err = driver.result(sig.name)  # DRIVER's stop_signal: it arrives mid-report
    assert code == status, err
    assert "Traceback" not in err
    assert "interrupted while writing the report" in err
    assert "rerun with --report-only" in err
    assert len(read_records([driver.signal_out(sig) / "raw" / "default.jsonl"]).records) == 1
