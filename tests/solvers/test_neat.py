"""NEAT on neat-python: networks as predictors, accounting, reproducibility, options, records."""

from __future__ import annotations

import copy
import json
import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import neat
import numpy as np
import pandas as pd
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from benchmarks.records import RunRecord, read_records
from benchmarks.results import runs_frame, write_csv
from solvers import get_solver
from solvers.neat import MAX_INPUTS, NEATNetwork, NEATSolver
from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, forward
from tests.tasks.test_predictor import Replay, outcome


def mlp_genome(task: Task, params: FlatParams, config: Any) -> Any:
    """A NEAT genome with the task's MLP topology and the weights of ``params``: inputs wired to
    every unit of the first layer, each layer to the next, the MLP's biases, response 1."""
    gc = config.genome_config
    _, *hidden, n_out = task.model.layer_sizes
    layers, key = [list(gc.input_keys)], n_out
    for width in hidden:
        layers.append(list(range(key, key + width)))
        key += width
    layers.append(list(gc.output_keys))
    genome, innovation = neat.DefaultGenome(0), 0
    for (w, b), sources, targets in zip(task.model.unpack(params), layers[:-1], layers[1:],
                                        strict=True):
        for j, node in enumerate(targets):
            gene = neat.DefaultGenome.create_node(gc, node)
            gene.bias, gene.response = float(b[j]), 1.0
            genome.nodes[node] = gene
            for i, source in enumerate(sources):
                innovation += 1
                cg = neat.DefaultGenome.create_connection(gc, source, node, innovation)
                cg.weight, cg.enabled = float(w[i, j]), True
                genome.connections[cg.key] = cg
    return genome


def mlp_network(task: Task, params: FlatParams) -> NEATNetwork:
    activation = task.model.hidden_activations[0]
    config = NEATSolver(hidden_activation=activation).neat_config(task)
    return NEATNetwork.from_genome(mlp_genome(task, params, config), config.genome_config,
                                   activation)


@pytest.mark.parametrize("name", ["xor", "iris", "parity", "sine", "spirals", "cancer"])
def test_a_genome_with_the_mlp_topology_computes_the_mlp(name: str) -> None:
    """Same weights, same outputs, bit for bit, and the same size: a NEAT network is judged on
    the very function the flat-vector solvers are."""
    task = get_task(name)
    params = task.model.init_params(np.random.default_rng(1))
    network = mlp_network(task, params)
    np.testing.assert_array_equal(network.logits(task.x_train),
                                  forward(task.model, params, task.x_train, logits=True))
    assert network.num_params == task.num_params
    assert network.model_size()["connections"] == task.num_params - sum(
        task.model.layer_sizes[1:])


@dataclass(frozen=True, kw_only=True)
class ReplayNEAT(Replay):
    """Reports each point of the replayed path as a NEAT network with the MLP's topology."""

    wrap: ClassVar[Any] = staticmethod(mlp_network)


@pytest.mark.parametrize("budget", [Budget(max_iterations=40),
                                    Budget(max_iterations=30, stop_at_target=False)])
def test_harness_records_a_neat_network_as_its_flat_vector(budget: Budget) -> None:
    """The harness's metrics, trace and target decision for the MLP-shaped NEAT network are
    those of the flat vector; the record keeps no vector but the network's size."""
    task = get_task("xor")
    flat = run_one(task, Replay(), budget, seed=0, strict=True)
    evolved = run_one(task, ReplayNEAT(), budget, seed=0, strict=True)
    assert outcome(evolved) == outcome(flat)
    assert evolved.iterations_to_target == flat.iterations_to_target is not None
    assert evolved.final_params == [] and evolved.model_size == {
        "nodes": 3, "connections": 6, "params": 9}


def test_the_forward_follows_neat_python_on_evolved_genomes() -> None:
    """On grown topologies (hidden nodes, disabled and dangling connections, deleted nodes)
    the NumPy forward gives what neat-python's own network gives with the same functions."""
    task = get_task("sine")
    solver = NEATSolver(node_add_prob=0.6, conn_add_prob=0.8, conn_delete_prob=0.2,
                        node_delete_prob=0.1)
    config = solver.neat_config(task)
    gc = config.genome_config
    gc.add_activation("tanh", lambda z: math.tanh(z))  # the task's tanh, not tanh(2.5 z)
    rnd = random.Random(5)
    genomes: list[Any] = []

    def score(population: list[tuple[int, Any]], config: Any) -> None:
        for _, genome in population:
            genome.fitness = rnd.random()
        genomes.extend(g for _, g in population)

    state = random.getstate()
    random.seed(5)
    try:
        neat.Population(config).run(score, 12)
    finally:
        random.setstate(state)
    hidden = disabled = 0
    x = np.linspace(-2.0, 2.0, 7)[:, None]
    for genome in genomes[-300:]:
        network = NEATNetwork.from_genome(genome, gc, "tanh")
        reference = copy.deepcopy(genome)
        for key in gc.output_keys:
            reference.nodes[key].activation = "identity"  # outputs are logits
        ff = neat.nn.FeedForwardNetwork.create(reference, config)
        expected = np.array([ff.activate(row) for row in x.tolist()])
        np.testing.assert_allclose(network.logits(x), expected, rtol=1e-12, atol=1e-12)
        hidden += len(genome.nodes) > 1
        disabled += any(not cg.enabled for cg in genome.connections.values())
    assert hidden > 50 and disabled > 5  # the check saw grown and pruned topologies


def test_same_seed_same_run_other_seed_other_run_and_random_is_restored() -> None:
    """Runs draw from the run's rng only; the global ``random`` stream is left as it was."""
    task = get_task("iris")
    budget = Budget(max_iterations=4, stop_at_target=False)
    random.seed(123)
    before = random.getstate()
    first = run_one(task, NEATSolver(), budget, seed=3, strict=True)
    assert random.getstate() == before
    second = run_one(task, NEATSolver(), budget, seed=3, strict=True)
    other = run_one(task, NEATSolver(), budget, seed=4, strict=True)
    assert outcome(first) == outcome(second) and first.model_size == second.model_size
    assert [p.loss for p in first.trace] != [p.loss for p in other.trace]


class Recorder:
    """A monitor that keeps every report and stops after ``stop_after``."""

    def __init__(self, stop_after: int) -> None:
        self.reports: list[tuple[Any, int]] = []
        self.stop_after = stop_after

    def report(self, params: Any, *, evaluations: int, backward: int = 0) -> bool:
        assert backward == 0
        self.reports.append((params, evaluations))
        return len(self.reports) >= self.stop_after


@pytest.mark.parametrize("elitism", [0, 2])
def test_each_new_genome_costs_n_train_and_elites_nothing(elitism: int) -> None:
    task = get_task("iris")
    solver = NEATSolver(population_size=40, elitism=elitism)
    monitor = Recorder(stop_after=6)
    solver.run(task, np.zeros(task.num_params), monitor, np.random.default_rng(0))
    charged = [evaluations for _, evaluations in monitor.reports]
    assert charged[0] == solver.initial_cost(task).forward == 40 * task.n_train
    bound = solver.iteration_cost(task).forward
    if elitism == 0:
        assert charged[1:] == [bound] * 5
    else:  # at least two elites per species are carried over, unscored
        assert all(c % task.n_train == 0 and c <= bound - 2 * task.n_train for c in charged[1:])
    # The best-so-far is reported: its training loss never rises.
    losses = [task.evaluate(network)["loss"] for network, _ in monitor.reports]
    assert losses == sorted(losses, reverse=True)
    assert all(isinstance(network, NEATNetwork) for network, _ in monitor.reports)


@pytest.mark.parametrize(
    ("field", "value"),
    [("population_size", 3), ("population_size", 10.0), ("compatibility_threshold", 0.0),
     ("weight_mutate_power", -0.1), ("bias_mutate_power", math.nan),
     ("weight_mutate_rate", 1.5), ("weight_replace_rate", -0.01), ("bias_mutate_rate", 2),
     ("bias_replace_rate", "x"), ("conn_add_prob", 1.1), ("conn_delete_prob", -1),
     ("node_add_prob", math.inf), ("node_delete_prob", 7), ("elitism", -1), ("elitism", 76),
     ("survival_threshold", 0.0), ("max_stagnation", 0), ("species_elitism", -2),
     ("hidden_activation", "relu")],
)
def test_bad_options_are_refused_naming_them(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of NEATSolver"):
        get_solver("neat", **{field: value})


def test_bad_option_on_the_command_line_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.run_all import main

    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "xor", "--solvers", "neat", "--set", "neat.compatibility_threshold=0",
              "--out", str(tmp_path), "--no-progress", "--executor", "serial"])
    assert exc.value.code == 2
    assert "'compatibility_threshold' parameter of NEATSolver" in capsys.readouterr().err


def test_no_configuration_file_is_left_behind(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = NEATSolver(population_size=60).neat_config(get_task("iris"))
    assert config.pop_size == 60 and config.genome_config.num_inputs == 4
    assert config.genome_config.num_outputs == 3 and list(tmp_path.iterdir()) == []


def test_a_short_solve_through_the_harness() -> None:
    """NEAT grows hidden units to solve AND (the linear outputs alone cannot reach MSE 0.01)."""
    task = get_task("and")
    record = run_one(task, NEATSolver(), Budget(max_iterations=120), seed=4, strict=True)
    assert record.stop_reason == "target_reached" and record.iterations_to_target == 67
    assert record.final_train["accuracy"] == 1.0 and record.final_train["mse"] <= 0.01
    assert record.model_size is not None and record.model_size["nodes"] > 1  # a hidden unit
    assert record.evaluations == record.evaluations_to_target
    assert record.evaluations < (record.iterations + 1) * 150 * task.n_train  # elites free


def test_cartpole_is_solved_with_predictors_rolled_out() -> None:
    """NEAT's canonical demo: each genome's policy steps CartPole through its own forward."""
    task = get_task("cartpole", train_episodes=5, eval_episodes=20, test_episodes=20)
    record = run_one(task, NEATSolver(), Budget(max_evaluations=400_000), seed=0, strict=True)
    assert record.stop_reason == "target_reached", record.error
    assert record.final_train["return"] >= 475 and record.final_test["return"] > 400
    assert record.final_params == [] and record.model_size is not None
    assert 0 < record.evaluations <= 400_000


def test_not_applicable_where_neat_cannot_serve() -> None:
    solver = NEATSolver()
    digits = solver.unsupported_reason(get_task("digits"))
    assert digits is not None and digits.startswith(f"not applicable beyond {MAX_INPUTS} inputs")
    fixed = solver.unsupported_reason(get_task("parity_sign"))
    assert fixed is not None and fixed.startswith("not applicable")
    assert solver.unsupported_reason(get_task("cancer")) is None  # 30 inputs
    record = run_one(get_task("digits"), solver, Budget(max_iterations=3), seed=0)
    assert record.stop_reason == "unsupported" and record.model_size is None


def test_the_topology_size_is_recorded_and_read_back(tmp_path: Path) -> None:
    """``model_size`` survives JSON and the reader; a record written before the field existed
    reads back as ``None``; the runs table carries the column."""
    task = get_task("iris")
    record = run_one(task, NEATSolver(population_size=20), Budget(max_iterations=2), seed=0,
                     strict=True)
    size = record.model_size
    assert size is not None and set(size) == {"nodes", "connections", "params"}
    assert size["params"] == size["nodes"] + size["connections"]
    assert size["nodes"] >= 3 and record.final_params == []
    back = RunRecord.from_dict(json.loads(record.to_json()))
    assert back.model_size == size and back == record
    old = json.loads(record.to_json())
    del old["model_size"]
    path = tmp_path / "runs.jsonl"
    path.write_text(record.to_json() + "\n" + json.dumps({**old, "key": "old"}) + "\n")
    read = read_records([path])
    assert not read.bad_lines and [r.model_size for r in read.records] == [size, None]
    frame = runs_frame(read.records)
    assert frame["model_size"].tolist() == [size, None]
    table = pd.read_csv(write_csv(frame, tmp_path / "runs.csv"))
    assert json.loads(table["model_size"][0]) == size and pd.isna(table["model_size"][1])


def test_many_species_do_not_break_reproduction() -> None:
    """A low threshold with a large mutation power splits XOR's population into more species
    than neat-python can give two offspring each (it raised "Configuration conflict" by
    generation 5); the species guard raises the threshold before that."""
    solver = NEATSolver(population_size=50, compatibility_threshold=1.5, weight_mutate_power=2.0)
    record = run_one(get_task("xor"), solver, Budget(max_iterations=40, stop_at_target=False),
                     seed=0, strict=True)
    assert record.stop_reason == "max_iterations" and record.iterations == 40


def test_a_first_generation_past_the_budget_is_a_miss_not_an_error() -> None:
    """On a control task a generation's cost is only bounded, so NEAT's first generation (its
    first report) can pass a small budget: the run ends on the budget with nothing judged."""
    from benchmarks.budget import Budget
    from benchmarks.harness import run_one
    from solvers.neat import NEATSolver
    from tasks import get_task

    task = get_task("cartpole", train_episodes=2, eval_episodes=5)
    record = run_one(task, NEATSolver(), Budget(max_evaluations=1_000), seed=0, strict=True)
    assert record.stop_reason == "max_evaluations"
    assert record.evaluations == 0 and not record.success
    assert "first report alone spent more evaluations than the budget (1,000)" in record.error
