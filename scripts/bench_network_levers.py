"""Network evaluations per second on the CPU for ways of running the same network.

Usage: python scripts/bench_network_levers.py [--sizes 64,256,1024] [--rounds 5]
       [--seconds 1.0] [--levers plain,no_grad,...]
       python scripts/bench_network_levers.py --search [--rounds 5]   (docs/results.md)

The network is the Connect Four quickstart's (the learner's blocks and channels of
arena/league_configs/connect_four.toml), with random weights and batch-norm statistics;
the inputs are observations of positions after random openings, at the leaf batch sizes
search sends. Every round times every lever once at every size, in a rotated order, so
that a change in the machine's load falls on all of them alike (A B A B); the figures are
the median over rounds. Each lever's largest absolute difference from the plain network's outputs
is printed beside its rate. ONNX Runtime is measured only when `onnxruntime` and `onnx`
import; they are not dependencies of the project.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import games
from agents.device import configure_cpu_threads
from agents.network import NetConfig, build_network, inference_copy
from arena.league import default_config

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def quickstart_network() -> torch.nn.Module:
    learner = default_config("connect_four")["learner"]
    game = games.make("connect_four")
    torch.manual_seed(0)
    model = build_network(
        NetConfig.for_game(game, blocks=learner["blocks"], channels=learner["channels"])
    )
    for module in model.modules():  # batch-norm folding must change nothing visible
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def observations(size: int) -> torch.Tensor:
    game = games.make("connect_four")
    state = game.init(size, 0)
    rng = np.arange(size, dtype=np.int64)
    for _ in range(6):
        game.step(state, game.random_legal(game.legal_mask(state), rng))
    return torch.from_numpy(game.observe(state))


def with_threads(threads: int, forward: Forward) -> Forward:
    def run(obs: torch.Tensor):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return forward(obs)
        finally:
            torch.set_num_threads(before)

    return run


def in_mode(mode: Callable, model: Callable) -> Forward:
    def run(obs: torch.Tensor):
        with mode():
            return model(obs)

    return run


def lever_plain(model) -> Forward:
    """The network as it is: what the evaluator ran before inference_copy."""
    return in_mode(torch.inference_mode, model)


def lever_inference_copy(model) -> Forward:
    """What the evaluator runs now (agents.network.inference_copy)."""
    forward = in_mode(torch.inference_mode, inference_copy(model))
    return lambda obs: forward(obs.contiguous(memory_format=torch.channels_last))


def lever_no_grad(model) -> Forward:
    return in_mode(torch.no_grad, model)


def lever_threads2(model) -> Forward:
    return with_threads(2, in_mode(torch.inference_mode, model))


def lever_chunks256(model) -> Forward:
    forward = in_mode(torch.inference_mode, model)

    def run(obs: torch.Tensor):
        parts = [forward(chunk) for chunk in obs.split(256)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    return run


def lever_channels_last(model) -> Forward:
    import copy

    last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    forward = in_mode(torch.inference_mode, last)
    return lambda obs: forward(obs.contiguous(memory_format=torch.channels_last))


def lever_fold_bn(model) -> Forward:
    from torch.fx.experimental.optimization import fuse

    return in_mode(torch.inference_mode, fuse(model))


def lever_compile(model) -> Forward:
    import copy

    return in_mode(torch.inference_mode, torch.compile(copy.deepcopy(model)))


def lever_jit_freeze(model) -> Forward:
    example = observations(8)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    return in_mode(torch.inference_mode, frozen)


def lever_onnxruntime(model) -> Forward:
    import onnxruntime as ort

    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        (observations(8),),
        buffer,
        input_names=["obs"],
        output_names=["logits", "value"],
        dynamic_axes={"obs": {0: "batch"}, "logits": {0: "batch"}, "value": {0: "batch"}},
        dynamo=False,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("ARENA_TORCH_THREADS", "1"))
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(obs: torch.Tensor):
        logits, value = session.run(None, {"obs": obs.numpy()})
        return torch.from_numpy(logits), torch.from_numpy(value)

    return run


LEVERS = {
    name.removeprefix("lever_"): fn for name, fn in globals().items() if name.startswith("lever_")
}


def rate(forward: Forward, obs: torch.Tensor, seconds: float, clock: Callable) -> float:
    """Evaluations per second of `forward` over `obs` on `clock`, timed for about `seconds`."""
    reps, start = 0, clock()
    while reps < 3 or clock() - start < seconds:
        forward(obs)
        reps += 1
    return reps * len(obs) / (clock() - start)


def search_ab(rounds: int, clock: Callable) -> None:
    """Simulations per second of `arena.bench_search` with the quickstart's network and
    self-play settings (128 games, 24 simulations, up to 1,024 leaves per forward), the
    evaluator running the plain network or its inference_copy, alternately."""
    from agents.neural import NetworkEvaluator
    from arena.bench_search import bench_search

    learner = default_config("connect_four")["learner"]
    size = {"blocks": learner["blocks"], "channels": learner["channels"]}
    settings = {"sims": learner["sims"], "batch": 128, "leaves_per_forward": 1024}
    copy_model = NetworkEvaluator._inference_model
    variants = {"plain": lambda self: self.model, "inference_copy": copy_model}
    runs: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name in list(variants)[:: 1 if round_ % 2 == 0 else -1]:
            NetworkEvaluator._inference_model = variants[name]
            start = clock()
            result = bench_search(**size, **settings, seed=round_)
            # On the CPU clock the whole call counts (set-up and warm-up included).
            runs[name].append(
                result["sims_per_second"]
                if clock is time.perf_counter
                else result["simulations"] / (clock() - start)
            )
    NetworkEvaluator._inference_model = copy_model
    print(f"{size} {settings}; load {os.getloadavg()}; clock {clock.__name__}")
    for name, rates in runs.items():
        ratios = [r / b for r, b in zip(rates, runs["plain"], strict=True)]
        print(
            f"{name:<16}{statistics.median(rates):>10,.0f} sims/s (median of {rounds}), "
            f"x plain {statistics.median(ratios):.2f}, range {min(rates):,.0f}-{max(rates):,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="64,256,1024")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--levers", default=",".join(LEVERS))
    parser.add_argument(
        "--search", action="store_true", help="time whole searches, plain vs inference_copy"
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="rates per CPU second of this process, not per wall second (a loaded machine)",
    )
    args = parser.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter
    if args.search:
        search_ab(args.rounds, clock)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    configure_cpu_threads()
    model = quickstart_network()
    inputs = {size: observations(size) for size in sizes}
    forwards: dict[str, Forward] = {}
    for name in args.levers.split(","):
        try:
            built = time.perf_counter()
            forward = LEVERS[name](model)
            for obs in inputs.values():  # warm-up: compilation, kernel choice, caches
                forward(obs)
            print(f"{name}: ready in {time.perf_counter() - built:.1f} s")
            forwards[name] = forward
        except Exception as err:  # a lever this machine cannot run is reported, not fatal
            print(f"{name}: unavailable ({type(err).__name__}: {str(err)[:120]})")
    with torch.inference_mode():
        reference = {size: model(obs) for size, obs in inputs.items()}
    rates: dict[tuple[str, int], list[float]] = {(n, s): [] for n in forwards for s in sizes}
    names = list(forwards)
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for size in sizes:
            for name in order:
                rates[name, size].append(rate(forwards[name], inputs[size], args.seconds, clock))
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, load {os.getloadavg()}, "
        f"{'CPU' if args.cpu_time else 'wall'} clock"
    )
    print("lever                 size  evals/s (median)  x plain  range over rounds   max |diff|")
    for name in names:
        for size in sizes:
            runs = rates[name, size]
            median = statistics.median(runs)
            # Paired by round: each ratio compares runs made moments apart, under one load.
            base = rates.get(("plain", size), runs)
            ratio = statistics.median(r / b for r, b in zip(runs, base, strict=True))
            logits, value = forwards[name](inputs[size])
            diff = max(
                (logits - reference[size][0]).abs().max().item(),
                (value - reference[size][1]).abs().max().item(),
            )
            print(
                f"{name:<20}{size:>6}{median:>14,.0f}{ratio:>13.2f}  "
                f"{min(runs):>9,.0f}-{max(runs):<9,.0f}{diff:>12.1e}"
            )


if __name__ == "__main__":
    main()
