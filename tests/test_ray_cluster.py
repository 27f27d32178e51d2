"""The Ray backend on a multi-node cluster started on this machine (ray.cluster_utils): a
head node that runs no tasks and two worker nodes of 1 CPU each. Tournaments and leagues
play the local backend's games, and a worker node removed mid-run loses or duplicates none.

Behaviour, not speed: the three nodes share this machine's cores."""

import time

import pytest

from arena import ids
from arena.backends import LocalBackend
from arena.league import run_league
from arena.ray_backend import RayBackend
from arena.tournament import resolve, run_tournament, schedule
from replays.files import part_paths, replays_dir
from tests.test_league import TINY
from tests.test_ray import (
    Gate,
    RayRun,
    games_of,
    gated_league,
    tournament,
    workers_unniced,
)

ray = pytest.importorskip("ray", reason='the Ray backend needs pip install ".[ray]"')
cluster_utils = pytest.importorskip("ray.cluster_utils")

# One Ray at a time in the test run: a cluster started here is also the one a bare
# ray.init() on this machine would join (see test_ray.py, in the same group).
pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]


@pytest.fixture(scope="module")
def nodes():
    """Head (no CPUs: tasks go to the workers) and two 1-CPU worker nodes; the driver joins."""
    with workers_unniced():
        cluster = cluster_utils.Cluster(
            initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
        )
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def worker_ids(cluster) -> set[str]:
    return {node.node_id for node in cluster.worker_nodes}


def alive_with_cpus() -> set[str]:
    """Ids of the nodes Ray's control store holds alive and with CPUs."""
    return {n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0)}


def held_on_workers(gate: Gate, run: RayRun, cluster, count: int, seconds: float = 600):
    """Ray node ids of the first `count` worker nodes seen holding a Gated match."""
    deadline = time.time() + seconds
    while True:
        found = [node for _, node in gate.held(run)]
        nodes = list(dict.fromkeys(n for n in found if n in worker_ids(cluster)))
        if len(nodes) >= count or not run.thread.is_alive() or time.time() > deadline:
            assert len(nodes) >= count, f"worker nodes seen holding a match: {nodes}"
            return nodes[:count]
        time.sleep(0.01)


def remove_node(cluster, node_id: str) -> None:
    """Kill every process of that worker node at once, as a crashed machine would."""
    node = next(n for n in cluster.worker_nodes if n.node_id == node_id)
    cluster.remove_node(node, allow_graceful=False)


def unique_keys(games: dict) -> list:
    keys = list(zip(games["match_id"], games["game_index"], strict=True))
    assert len(keys) == len(set(keys)), "a game is stored twice"
    return keys


def test_tournament_on_two_worker_nodes_plays_the_local_games(nodes, tmp_path):
    gate = Gate(tmp_path)
    values = tournament(tmp_path / "local", agents=["greedy", "random", f"gated={gate.spec}"])
    local = gate.open_for(lambda: run_tournament(values, backend=LocalBackend()))
    ray_values = {**values, "out": str(tmp_path / "ray")}
    with gate.on_ray(lambda backend: run_tournament(ray_values, backend=backend)) as run:
        # Both worker nodes hold a match at once: the run is spread over the two.
        assert len(held_on_workers(gate, run, nodes, 2)) == 2
    assert games_of(run.result.run_dir) == games_of(local.run_dir)


def test_league_on_two_worker_nodes_plays_the_local_games(nodes, tmp_path):
    values = {**TINY, "rounds": 2}
    local = run_league({**values, "out": str(tmp_path / "local")}, log=lambda _: None)
    with RayBackend() as backend:
        assert backend.workers == 2
        remote = run_league(
            {**values, "out": str(tmp_path / "ray")}, log=lambda _: None, backend=backend
        )
    ours = games_of(remote)
    unique_keys(ours)
    assert ours == games_of(local)
    assert any(ids.parse_match_id(m).kind == "eval" for m in ours["match_id"])


@pytest.fixture
def spare_node(nodes):
    """A test that removes a worker node gets a new one afterwards, for the next test."""
    yield
    while len(nodes.worker_nodes) < 2:
        with workers_unniced():
            nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    deadline = time.time() + 120  # until Ray too has seen the removed node go
    while alive_with_cpus() != worker_ids(nodes) and time.time() < deadline:
        time.sleep(0.1)
    assert alive_with_cpus() == worker_ids(nodes)


def test_tournament_survives_a_removed_worker_node(nodes, spare_node, tmp_path):
    gate = Gate(tmp_path)
    agents = ["greedy", f"gated={gate.spec}"]
    values = tournament(tmp_path / "local", agents=agents, concurrency=4)
    local = gate.open_for(lambda: run_tournament(values, backend=LocalBackend()))
    ray_values = {**values, "out": str(tmp_path / "ray")}
    with gate.on_ray(lambda backend: run_tournament(ray_values, backend=backend)) as run:
        # Every match holds at the gate: the node seen holding one is mid-run, none stored.
        [victim] = held_on_workers(gate, run, nodes, 1)
        assert run.thread.is_alive() and part_paths(replays_dir(tmp_path / "ray")) == []
        remove_node(nodes, victim)
    ours = games_of(tmp_path / "ray")
    scheduled = [(m.match_id, g) for m in schedule(resolve(ray_values)) for g in range(m.games)]
    assert sorted(unique_keys(ours)) == sorted(scheduled)  # none lost, none twice
    assert ours == games_of(local.run_dir)


def test_league_survives_a_removed_worker_node(nodes, spare_node, tmp_path):
    gate = Gate(tmp_path)
    local = gate.open_for(lambda: gated_league(gate, tmp_path / "local"))
    with gate.on_ray(lambda backend: gated_league(gate, tmp_path / "ray", backend)) as run:
        # A worker node holds a round-1 training match on its rollout actor: it goes.
        [victim] = held_on_workers(gate, run, nodes, 1)
        # Rollout actors reserve no CPU but stay off the head, kept free of work.
        assert {node for _, node in gate.held(run)} <= worker_ids(nodes)
        assert run.thread.is_alive() and not (tmp_path / "ray" / "league.json").exists()
        remove_node(nodes, victim)
    ours = games_of(run.result)
    unique_keys(ours)
    assert ours == games_of(local)
