"""NEAT: NeuroEvolution of Augmenting Topologies, on neat-python.

NEAT evolves the weights *and* the topology of its networks. It starts from the smallest
network that can express the task (every input wired to every output, no hidden unit) and
grows it by mutation: a new connection, or a new node splitting an existing connection.
Historical markings (innovation numbers) line up the genes of different topologies for
crossover, and speciation by genetic distance protects a new structure while its weights are
tuned. ``neat-python`` is the engine: its generational loop, speciation, stagnation,
reproduction and mutation all run unchanged. The adapter pins what a benchmark needs:

* **The configuration is built here**, from the solver's hyperparameters and the task's shape
  (inputs, outputs). neat-python only reads configurations from a file, so the text goes to a
  temporary file that is deleted as soon as neat-python has parsed it.
* **Networks are predictors** (``tasks/predictor.py``). An evolved network is not the task's
  MLP, so there is no flat vector to report: the adapter compiles each genome into a
  :class:`NEATNetwork`, a NumPy forward layer by layer over the genome's topologically sorted
  nodes (neat-python's own ``feed_forward_layers``), whose output layer gives logits. The task
  applies its own output activation and loss to them, exactly as to the MLP's.
* **Hidden units** compute the task's ``tanh`` or ``sigmoid`` (``tasks.mlp.activate``), not
  neat-python's steepened ``tanh(2.5 z)`` and ``sigmoid(5 z)``, so a NEAT network with an MLP's
  topology and weights computes that MLP. Output nodes are linear (logits); aggregation is a
  sum and every node's response is fixed at 1.
* **Randomness.** neat-python draws from Python's global ``random`` module (its modules import
  ``random``'s functions directly, so no private generator can be handed to it). ``run`` seeds
  the global generator from the run's ``rng`` and restores its previous state when it returns,
  so runs are reproducible and the caller's ``random`` stream is left as it was. Not safe with
  another thread using ``random`` at the same time (the engine runs cells in processes).
* **Accounting.** neat-python scores every genome of a generation, elites included; an elite
  keeps the fitness it was given (the training data and episodes are fixed), so only new
  genomes are scored and charged.

References: Stanley & Miikkulainen, "Evolving Neural Networks through Augmenting Topologies",
Evolutionary Computation 10(2), 2002, https://nn.cs.utexas.edu/downloads/papers/stanley.ec02.pdf;
McIntyre et al., neat-python, https://github.com/CodeReclaimers/neat-python
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import neat
import numpy as np
from neat.graphs import feed_forward_layers

from solvers.base import Cost, Monitor, Solver
from solvers.space import IntLogUniform, LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval, check_options
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray, activate

#: Hidden-unit activations NEAT's networks may use (the task's own functions).
HIDDEN_ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid")

#: Tasks with more inputs than this are not applicable. Generation 0 wires every input to every
#: output, and neat-python's speciation, crossover and cycle checks are Python loops over those
#: genes: on digits (64 inputs, 10 outputs: 640 genes) one generation of 150 genomes took 2.2 s
#: (this container's CPU), so a run of a few hundred generations takes longer than the whole
#: default suite; cancer (30 inputs, 30 genes) takes 65 ms and wine (13 inputs, 39 genes)
#: 0.11 s. The limit sits between the largest served (30) and the smallest refused (64) task.
MAX_INPUTS = 32

#: neat-python needs a generation count; this one is never reached, so the harness (budget,
#: target, divergence) decides when a run ends.
UNBOUNDED_GENERATIONS = 2**62


class NEATNetwork:
    """A NEAT genome's feed-forward network as a predictor: a NumPy forward, layer by layer.

    The nodes are evaluated in neat-python's order (``neat.graphs.feed_forward_layers``: each
    layer's nodes depend only on earlier layers), with neat-python's rules for what is
    expressed: enabled connections only, nodes that no output needs left out, a node without
    incoming connections giving its activated bias, an output no path reaches giving 0. For each
    layer the weights of its incoming connections form a dense ``(sources, nodes)`` matrix, so
    the whole batch of examples goes through a layer in one matrix product.

    Column layout of the activations: the inputs, then the computed nodes in evaluation order,
    then one column that stays 0 (what an unreached output reads).
    """

    def __init__(
        self,
        n_inputs: int,
        layers: list[tuple[Any, FloatArray, FloatArray, FloatArray | None, Any, slice]],
        outputs: list[int],
        width: int,
        activation: str,
        connections: int,
    ) -> None:
        self.n_inputs = n_inputs
        self.layers = layers
        self.outputs = np.asarray(outputs, dtype=np.intp)
        self.width = width
        self.activation = activation
        self.connections = connections
        self.nodes = width - n_inputs - 1

    @classmethod
    def from_genome(cls, genome: Any, genome_config: Any, activation: str) -> NEATNetwork:
        """Compile a ``neat.DefaultGenome`` (feed-forward) into arrays.

        Args:
            genome: the genome.
            genome_config: its ``DefaultGenomeConfig`` (input and output keys).
            activation: the hidden units' activation, one of :data:`HIDDEN_ACTIVATIONS`.
        """
        inputs, outputs = genome_config.input_keys, genome_config.output_keys
        enabled = [cg for cg in genome.connections.values() if cg.enabled]
        order, required = feed_forward_layers(inputs, outputs, [cg.key for cg in enabled])
        known = required.union(inputs)
        incoming: dict[int, list[tuple[int, float]]] = {}
        for cg in enabled:
            source, target = cg.key
            if source in known:
                incoming.setdefault(target, []).append((source, cg.weight))
        column = {key: i for i, key in enumerate(inputs)}
        output_set = set(outputs)
        layers = []
        connections = 0
        for layer in order:
            nodes = sorted(layer)
            first = len(column)
            links = [(column[s], j, w) for j, n in enumerate(nodes) for s, w in incoming.get(n, ())]
            columns = sorted({c for c, _, _ in links})
            row = {c: i for i, c in enumerate(columns)}
            weights = np.zeros((len(columns), len(nodes)))
            if links:
                rows, cols, values = zip(*links, strict=True)
                weights[[row[c] for c in rows], cols] = values
            connections += len(links)
            for node in nodes:
                column[node] = len(column)
            genes = [genome.nodes[n] for n in nodes]
            bias = np.array([g.bias for g in genes], dtype=np.float64)
            responses = [g.response for g in genes]
            response = (None if all(r == 1.0 for r in responses)
                        else np.array(responses, dtype=np.float64))
            hidden = [j for j, n in enumerate(nodes) if n not in output_set]
            act: Any = (slice(None) if len(hidden) == len(nodes)
                        else np.array(hidden, dtype=np.intp) if hidden else None)
            contiguous = columns == list(range(columns[0], columns[-1] + 1)) if columns else True
            src: Any = (slice(columns[0], columns[-1] + 1) if columns and contiguous
                        else np.array(columns, dtype=np.intp))
            layers.append((src, weights, bias, response, act, slice(first, len(column))))
        zero = len(column)
        return cls(len(inputs), layers, [column.get(k, zero) for k in outputs], zero + 1,
                   activation, connections)

    @property
    def num_params(self) -> int:
        """Weights of the expressed connections plus one bias per computed node."""
        return self.connections + self.nodes

    def logits(self, x: FloatArray) -> FloatArray:
        """Output nodes' values (linear: ``bias + sum of weighted inputs``), ``(n, n_out)``."""
        a = np.zeros((x.shape[0], self.width))
        a[:, : self.n_inputs] = x
        for src, weights, bias, response, hidden, dst in self.layers:
            z = a[:, src] @ weights
            if response is not None:
                z *= response
            z += bias
            if hidden is not None:
                if type(hidden) is slice:  # every node of the layer is hidden
                    z = activate(self.activation, z)
                else:
                    z[:, hidden] = activate(self.activation, z[:, hidden])
            a[:, dst] = z
        return a[:, self.outputs]

    def model_size(self) -> dict[str, int]:
        """Computed nodes (hidden and output), expressed connections, and parameters."""
        return {"nodes": self.nodes, "connections": self.connections, "params": self.num_params}


@dataclass(frozen=True, kw_only=True)
class NEATSolver(Solver):
    """NEAT on neat-python: speciated evolution of topologies and weights, from minimal nets.

    Defaults and their origin: neat-python's XOR example (``examples/xor/config-feedforward``):
    150 genomes, compatibility threshold 3.0, weight mutation rate 0.8 with power 0.5 and
    replace rate 0.1, bias mutation rate 0.7 with power 0.5 and replace rate 0.1, connection
    add/delete 0.5/0.5, node add/delete 0.2/0.2, elitism 2, survival threshold 0.2, stagnation
    after 20 generations with 2 species kept. Fixed (not hyperparameters),
    from the same file: weights and biases drawn N(0, 1) and clamped to [-30, 30], compatibility
    coefficients 1.0 (disjoint) and 0.5 (weight), enabled-flag mutation 0.01, at least 2
    genomes per species. Two changes: ``reset_on_extinction`` is on (the example has it off), so
    a run whose species all stagnate starts a fresh population instead of raising; and the
    hidden units are ``tanh``, the one of the task's two functions whose slope at 0 (1) is
    nearest the example's steepened ``sigmoid(5 z)`` (1.25; the plain sigmoid's is 0.25).
    Fitness is minus the training loss summed over the training examples (episodes on a control
    task), as the example's ``4 - SSE`` is a sum: neat-python shares offspring between species
    in proportion to fitness over ``max(1, fitness range)``, so a mean loss, whose range is
    often below 1, would flatten that share.

    Iteration: one generation (score the new genomes, then neat-python's speciation and
    reproduction).
    Evaluations: ``population_size * n_train`` forward passes for generation 0, then each new
    genome times ``n_train`` (on a control task: the environment steps taken); elites keep
    their fitness, so usually ``(population_size - elites) * n_train``. No backward passes.
    Cost per generation, measured (150 genomes, this container's CPU, 2 shared cores): about
    17 ms on XOR (4 examples), half of it neat-python's speciation and reproduction, the other
    half the Python loop over genomes (compiling each into arrays, one forward each); 20 ms on
    sine (64), 65 ms on cancer (30 inputs, 340 examples), 0.11 s on wine (13 inputs, 3
    outputs). On CartPole each genome's episodes call its forward once per step (about 6 us a
    call): 0.43 s for a generation whose 150 genomes all balance 10 episodes of 500 steps, a
    few tens of ms while episodes are short.

    Attributes:
        population_size: genomes per generation, at least 4 (two species of neat-python's
            minimum size 2).
        compatibility_threshold: genetic distance under which two genomes share a species, in
            (0, inf).
        weight_mutate_power, bias_mutate_power: standard deviation of a weight's (bias's)
            Gaussian perturbation, in [0, inf).
        weight_mutate_rate, bias_mutate_rate: chance that a weight (bias) is perturbed, in
            [0, 1].
        weight_replace_rate, bias_replace_rate: chance that a weight (bias) is drawn afresh,
            in [0, 1].
        conn_add_prob, conn_delete_prob, node_add_prob, node_delete_prob: per-genome chance of
            each structural mutation, in [0, 1].
        elitism: best genomes of each species copied unchanged, in [0, population_size / 2].
        survival_threshold: share of each species allowed to reproduce, in (0, 1].
        max_stagnation: generations without improvement before a species is removed, >= 1.
        species_elitism: species protected from stagnation, >= 0.
        hidden_activation: ``tanh`` or ``sigmoid`` (the task's functions, see the module).
    """

    name: ClassVar[str] = "neat"
    paradigm: ClassVar[str] = "evolution"
    mlp_only: ClassVar[str] = (
        "evolves networks of its own topology and cannot train a given "
        "network"
    )
    iteration: ClassVar[str] = (
        "one generation (new genomes scored one network at a time, then speciation and "
        "reproduction)"
    )
    evaluations: ClassVar[str] = (
        "`population_size * n_train` forward passes for generation 0, then each new genome "
        "times `n_train` (on a control task: the environment steps taken); elites keep their "
        "fitness, so usually `(population_size - elites) * n_train`. No backward passes."
    )
    caveat: ClassVar[str] = (
        "**NEAT evolves its own networks.** Its networks are not the task's MLP: they start "
        "with no hidden unit and grow. The record's `num_params` is the task's network; "
        "`model_size` gives the evolved network's nodes, connections and parameters. Each "
        "genome is a network of its own shape, scored one at a time (no batched population "
        "forward), so its seconds include a Python loop over genomes."
    )
    search_space: ClassVar[SearchSpace] = {
        "population_size": IntLogUniform(50, 300),
        "compatibility_threshold": Uniform(1.5, 5.0),
        "weight_mutate_power": LogUniform(0.1, 2.0),
    }
    stochastic: ClassVar[bool] = True
    single_start: ClassVar[bool] = False
    needs_differentiable: ClassVar[bool] = False

    population_size: int = 150
    compatibility_threshold: float = 3.0
    weight_mutate_power: float = 0.5
    weight_mutate_rate: float = 0.8
    weight_replace_rate: float = 0.1
    bias_mutate_power: float = 0.5
    bias_mutate_rate: float = 0.7
    bias_replace_rate: float = 0.1
    conn_add_prob: float = 0.5
    conn_delete_prob: float = 0.5
    node_add_prob: float = 0.2
    node_delete_prob: float = 0.2
    elitism: int = 2
    survival_threshold: float = 0.2
    max_stagnation: int = 20
    species_elitism: int = 2
    hidden_activation: str = "tanh"

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.population_size, "population_size", owner, kind=int, low=4)
        check_interval(self.compatibility_threshold, "compatibility_threshold", owner, low=0.0,
                       closed="neither")
        for field in ("weight_mutate_power", "bias_mutate_power"):
            check_interval(getattr(self, field), field, owner, low=0.0)
        for field in ("weight_mutate_rate", "weight_replace_rate", "bias_mutate_rate",
                      "bias_replace_rate", "conn_add_prob", "conn_delete_prob", "node_add_prob",
                      "node_delete_prob"):
            check_interval(getattr(self, field), field, owner, low=0.0, high=1.0)
        check_interval(self.elitism, "elitism", owner, kind=int, low=0,
                       high=self.population_size // 2)
        check_interval(self.survival_threshold, "survival_threshold", owner, low=0.0, high=1.0,
                       closed="right")
        check_interval(self.max_stagnation, "max_stagnation", owner, kind=int, low=1)
        check_interval(self.species_elitism, "species_elitism", owner, kind=int, low=0)
        check_options(self.hidden_activation, "hidden_activation", owner, HIDDEN_ACTIVATIONS)

    def unsupported_reason(self, task: Task) -> str | None:
        reason = super().unsupported_reason(task)
        if reason is not None:
            return reason
        if task.model.quantized or task.model.thresholded:
            return (
                f"not applicable: task {task.name!r} fixes its network's weights or units "
                f"({task.model.describe()}); NEAT evolves real-weighted tanh or sigmoid "
                f"networks of its own topology"
            )
        n_inputs = task.model.layer_sizes[0]
        if n_inputs > MAX_INPUTS:
            return (
                f"not applicable beyond {MAX_INPUTS} inputs: task {task.name!r} has {n_inputs}, "
                f"and NEAT's fully connected generation 0 makes neat-python's per-gene Python "
                f"loops (speciation, crossover) take seconds per generation"
            )
        return None

    def initial_cost(self, task: Task) -> Cost:
        # Exact where costs are (every genome of generation 0 is new). Where they are only
        # bounded (control: episodes end when they end) the bound, every episode at its time
        # limit, is 30-100x what a random generation 0 takes (150 genomes x 10 CartPole
        # episodes: about 30k steps, bound 750k), and the harness refuses any budget under
        # the initial cost outright; state the least it can cost, one evaluation per genome.
        # A generation 0 that does pass the budget is discarded by the harness like any
        # iteration that passes it.
        if not task.exact_costs:
            return Cost(self.population_size)
        return Cost(self.population_size * task.n_train)

    def iteration_cost(self, task: Task) -> Cost:
        # An upper bound: elites keep their fitness and are not scored again.
        return Cost(self.population_size * task.n_train)

    def neat_config(self, task: Task) -> neat.Config:
        """neat-python's configuration for ``task``, parsed from a temporary file (deleted)."""
        fd, path = tempfile.mkstemp(prefix="neat-", suffix=".cfg", text=True)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self._config_text(task))
            return neat.Config(neat.DefaultGenome, neat.DefaultReproduction,
                               neat.DefaultSpeciesSet, neat.DefaultStagnation, path)
        finally:
            os.unlink(path)

    def _config_text(self, task: Task) -> str:
        """The configuration file's text: the solver's values, the rest fixed (see class)."""
        act = self.hidden_activation
        return f"""
[NEAT]
fitness_criterion = max
fitness_threshold = inf
no_fitness_termination = True
pop_size = {self.population_size}
reset_on_extinction = True

[DefaultGenome]
num_inputs = {task.model.layer_sizes[0]}
num_outputs = {task.model.layer_sizes[-1]}
num_hidden = 0
feed_forward = True
initial_connection = full
activation_default = {act}
activation_options = {act}
activation_mutate_rate = 0.0
aggregation_default = sum
aggregation_options = sum
aggregation_mutate_rate = 0.0
bias_init_type = gaussian
bias_init_mean = 0.0
bias_init_stdev = 1.0
bias_max_value = 30.0
bias_min_value = -30.0
bias_mutate_power = {self.bias_mutate_power!r}
bias_mutate_rate = {self.bias_mutate_rate!r}
bias_replace_rate = {self.bias_replace_rate!r}
response_init_type = gaussian
response_init_mean = 1.0
response_init_stdev = 0.0
response_max_value = 30.0
response_min_value = -30.0
response_mutate_power = 0.0
response_mutate_rate = 0.0
response_replace_rate = 0.0
weight_init_type = gaussian
weight_init_mean = 0.0
weight_init_stdev = 1.0
weight_max_value = 30.0
weight_min_value = -30.0
weight_mutate_power = {self.weight_mutate_power!r}
weight_mutate_rate = {self.weight_mutate_rate!r}
weight_replace_rate = {self.weight_replace_rate!r}
enabled_default = True
enabled_mutate_rate = 0.01
enabled_rate_to_true_add = 0.0
enabled_rate_to_false_add = 0.0
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient = 0.5
conn_add_prob = {self.conn_add_prob!r}
conn_delete_prob = {self.conn_delete_prob!r}
node_add_prob = {self.node_add_prob!r}
node_delete_prob = {self.node_delete_prob!r}
single_structural_mutation = False
structural_mutation_surer = default

[DefaultSpeciesSet]
compatibility_threshold = {self.compatibility_threshold!r}

[DefaultStagnation]
species_fitness_func = max
max_stagnation = {self.max_stagnation}
species_elitism = {self.species_elitism}

[DefaultReproduction]
elitism = {self.elitism}
survival_threshold = {self.survival_threshold!r}
min_species_size = 2
"""

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        # NEAT starts from its own minimal networks (no hidden unit), not the task's MLP, so the
        # shared starting point x0 has no place in it.
        del x0
        config = self.neat_config(task)
        tracker = _Tracker(task, monitor, config.genome_config, self.hidden_activation)
        with _seeded_global_random(int(rng.integers(0, 2**63))):
            population = neat.Population(config)
            tracker.guard = _SpeciesGuard(population)
            try:
                population.run(tracker.fitness, UNBOUNDED_GENERATIONS)
            except _Stop:
                return


class _SpeciesGuard:
    """Keeps the species count where neat-python's reproduction can serve it.

    neat-python gives every species at least ``max(min_species_size, elitism)`` = 2 offspring
    and raises ("Configuration conflict") once the species outnumber half the population, which
    a low compatibility threshold or a large mutation power reaches within tens of generations
    (seen at population 50, threshold 1.5, on sine, iris and XOR). While more than a quarter of
    the population's worth of species exist, each generation raises the threshold by a fifth
    (the "dynamic compatibility threshold" of NEAT implementations that target a species count);
    it falls back by the same factor, never below the configured value, once they are fewer
    than an eighth. A run whose species stay under a quarter, as with the defaults, is never
    touched.
    """

    def __init__(self, population: Any) -> None:
        self.population = population
        self.config = population.config.species_set_config
        self.base = float(self.config.compatibility_threshold)
        self.ceiling = population.config.pop_size / 4

    def update(self) -> None:
        """Adjust the threshold the next speciation uses, from this generation's species."""
        count = len(self.population.species.species)
        threshold = self.config.compatibility_threshold
        if count > self.ceiling:
            self.config.compatibility_threshold = threshold * 1.2
        elif count < self.ceiling / 2 and threshold > self.base:
            self.config.compatibility_threshold = max(self.base, threshold / 1.2)


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """Raised from the fitness function to leave neat-python's loop when the harness says so."""


@contextlib.contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    """Seed Python's global ``random`` (neat-python's only source), then restore its state."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


class _Tracker:
    """neat-python's fitness function: scores new genomes, keeps the best-so-far, reports.

    Fitness is minus the task's training loss (the harness's own, ``Task.scored_predictor_losses``)
    times the number of training examples or episodes (see :class:`NEATSolver`). A non-finite
    loss (not seen with weights clamped to +-30, but possible on unbounded inputs) counts as the
    generation's worst finite loss plus one: neat-python's fitness sharing needs finite values.
    The best-so-far is the network with the lowest training loss scored so far (the first of
    equals); it is reported after every generation.
    """

    def __init__(self, task: Task, monitor: Monitor, genome_config: Any, activation: str) -> None:
        self.task = task
        self.monitor = monitor
        self.genome_config = genome_config
        self.activation = activation
        # Fitness is the loss summed over the training set (examples or episodes), not its mean:
        # see the class docstring.
        self.scale = float(len(task.x_train))
        self.best: NEATNetwork | None = None
        self.best_loss = np.inf
        self.guard: _SpeciesGuard | None = None

    def fitness(self, genomes: Sequence[tuple[int, Any]], config: Any) -> None:
        """Score the genomes without a fitness yet, then report one generation."""
        del config
        fresh = [genome for _, genome in genomes if genome.fitness is None]
        networks = [NEATNetwork.from_genome(g, self.genome_config, self.activation)
                    for g in fresh]
        losses, spent = self.task.scored_predictor_losses(networks)
        finite = np.isfinite(losses)
        worst = float(losses[finite].max()) + 1.0 if finite.any() else 1.0
        for genome, loss, ok in zip(fresh, losses.tolist(), finite.tolist(), strict=True):
            genome.fitness = -(loss if ok else worst) * self.scale
        if finite.any():
            i = int(np.argmin(np.where(finite, losses, np.inf)))
            if losses[i] < self.best_loss:
                self.best, self.best_loss = networks[i], float(losses[i])
        if self.best is None:  # no finite loss yet: report some network, it is judged as such
            self.best = networks[0]
        if self.monitor.report(self.best, evaluations=spent):  # type: ignore[arg-type]
            raise _Stop
        if self.guard is not None:
            self.guard.update()
