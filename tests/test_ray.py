"""The Ray backend on a real in-process Ray instance: same games as the local backend, and
no game lost or duplicated when a worker process is killed mid-run."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import replays
from arena import ids
from arena.backends import LocalBackend, make_backend, split_batches
from arena.league import League, run_league
from arena.league import resolve as resolve_league
from arena.ray_backend import RayBackend, RemoteLearner, _recorded_cluster_is_dead
from arena.tournament import resolve, run_tournament, schedule
from replays.files import part_paths, replays_dir
from tests.test_league import TINY

ray = pytest.importorskip("ray", reason='the Ray backend needs pip install ".[ray]"')

# Both xdist workers would otherwise start a Ray instance each (scripts/test.sh: -n 2).
pytestmark = pytest.mark.xdist_group("ray")

COLUMNS = ("match_id", "game_index", "agents", "seed", "actions", "plies", "winner", "returns")


@contextmanager
def workers_unniced() -> Iterator[None]:
    """Ray starts its worker processes at niceness 15 (RAY_worker_niceness, read by the
    raylets started meanwhile). Beside the test run's other processes, or busy loops on
    every core, niced workers get a small share of a core: actors took many minutes to
    start and the bounded waits of these tests ran out. Test clusters run them at 0."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_worker_niceness", "0")
        yield


@pytest.fixture(scope="module")
def cluster():
    """One Ray instance for the module (starting one costs seconds), on loopback only,
    never a cluster some earlier run left behind (address "local")."""
    with workers_unniced():
        ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def games_of(run_dir):
    table = replays.open(run_dir).to_table(columns=list(COLUMNS))
    return table.sort_by([("match_id", "ascending"), ("game_index", "ascending")]).to_pydict()


def tournament(path, **overrides):
    return {
        "game": "connect_four",
        "agents": ["random", "greedy", "mcts:sims=4"],
        "games_per_pair": 24,
        "concurrency": 6,
        "opening_plies": 2,
        "seed": 11,
        "out": str(path),
        **overrides,
    }


class Gate:
    """The files of a tests.agents_for_tests.Gated agent: `spec` plays it, `seen` says where
    it holds a match, and once `release` exists every match goes on."""

    def __init__(self, directory, name: str = "gated"):
        self.seen, self.release = directory / f"{name}.seen", directory / f"{name}.release"
        self.seen.touch()
        self.spec = f"tests.agents_for_tests:Gated,seen={self.seen},release={self.release}"

    def open_for(self, play):
        """`play()` with the gate open (the reference games), then the gate shut again."""
        self.release.touch()
        try:
            return play()
        finally:
            self.release.unlink()
            self.seen.write_text("")

    @contextmanager
    def on_ray(self, play) -> Iterator["RayRun"]:
        """`play(backend)` on a RayBackend in a thread, meanwhile the body; then the gate
        opens and the run must finish."""
        run = RayRun(play)
        try:
            yield run
        finally:
            self.release.touch()
            run.thread.join(timeout=300)
        assert not run.thread.is_alive() and run.done, "the run did not finish"

    def held(self, run: "RayRun", seconds: float = 600) -> list[tuple[int, str]]:
        """(PID, Ray node id) of every process seen holding a match (at least one). The
        wait is long: on a loaded machine, starting actors that import torch takes minutes."""
        deadline = time.time() + seconds
        while not self.seen.read_text() and run.thread.is_alive() and time.time() < deadline:
            time.sleep(0.01)
        lines = self.seen.read_text().splitlines()
        ended = "ended" if not run.thread.is_alive() else f"still running after {seconds} s"
        assert lines, f"no process was seen holding a match (the run {ended})"
        return [(int(pid), node) for pid, node in (line.split() for line in lines)]


def gated_league(gate: Gate, out, backend=None):
    """A 2-round TINY league into `out` with the Gated agent as an anchor, so that it plays
    in round 1's training matches already."""
    league = {**TINY["league"], "anchors": [gate.spec, "greedy"]}
    values = {**TINY, "rounds": 2, "league": league, "out": str(out)}
    return run_league(values, log=lambda _: None, backend=backend, allow_import=True)


class RayRun:
    """A tournament or league played on a RayBackend in a thread of its own."""

    def __init__(self, play):
        self.result, self.done = None, False
        self.thread = threading.Thread(target=self._run, args=(play,))
        self.thread.start()

    def _run(self, play) -> None:
        with RayBackend() as backend:
            self.result = play(backend)
        self.done = True


def test_split_batches_keeps_order_and_balances_games():
    jobs = schedule(resolve(tournament("unused", games_per_pair=100, concurrency=7)))
    batches = split_batches(jobs, 4)
    assert [job for batch in batches for job in batch] == jobs
    assert len(batches) == 4
    sizes = [sum(job.games for job in batch) for batch in batches]
    assert all(abs(size - sum(sizes) / 4) <= 7 for size in sizes)  # within a match of even
    assert split_batches(jobs[:2], 8) == [[jobs[0]], [jobs[1]]]
    assert split_batches([], 3) == []


def test_tournament_on_ray_plays_the_local_games(cluster, tmp_path):
    local = run_tournament(tournament(tmp_path / "local"), backend=LocalBackend())
    with RayBackend() as backend:
        assert backend.workers == 2
        remote = run_tournament(tournament(tmp_path / "ray"), backend=backend)
    assert remote.games_played == local.games_played == 3 * 24
    assert games_of(remote.run_dir) == games_of(local.run_dir)
    assert ray.is_initialized(), "a backend that joined a running Ray leaves it running"


def test_killed_task_worker_is_retried_without_losing_or_duplicating_games(cluster, tmp_path):
    gate = Gate(tmp_path)
    values = tournament(tmp_path / "ray", agents=["greedy", f"gated={gate.spec}"], concurrency=4)
    with gate.on_ray(lambda backend: run_tournament(values, backend=backend)) as run:
        # Every match holds at the gate: the process that says so is mid-task, nothing stored.
        victim = gate.held(run)[0][0]
        assert victim in actor_processes(b"ray::_play_batch")
        os.kill(victim, signal.SIGKILL)
        assert run.thread.is_alive() and part_paths(replays_dir(tmp_path / "ray")) == []
    stored = games_of(tmp_path / "ray")
    keys = list(zip(stored["match_id"], stored["game_index"], strict=True))
    scheduled = [(m.match_id, g) for m in schedule(resolve(values)) for g in range(m.games)]
    assert sorted(keys) == sorted(scheduled)  # every game once: none lost, none twice
    local = run_tournament({**values, "out": str(tmp_path / "local")})
    assert stored == games_of(local.run_dir)  # the retried task replayed the same games


def test_checkpoint_agents_reach_workers_through_the_object_store(cluster, tmp_path):
    import games
    from agents.checkpoint import save_checkpoint
    from agents.network import NetConfig, build_network

    game = games.make("tic_tac_toe")
    config = NetConfig.for_game(game, blocks=1, channels=8)
    save_checkpoint(tmp_path / "nets" / "best", build_network(config), config, game.name)
    agents = ["random", f"net=checkpoint:{tmp_path / 'nets' / 'best'}"]
    values = tournament(tmp_path / "local", game="tic_tac_toe", agents=agents, opening_plies=0)
    local = run_tournament(values)
    with RayBackend() as backend:
        remote = run_tournament({**values, "out": str(tmp_path / "ray")}, backend=backend)
    assert games_of(remote.run_dir) == games_of(local.run_dir)


def actor_processes(title: bytes) -> list[int]:
    """PIDs of this test process's Ray workers whose title starts with `title`: ray::CLASS
    for an actor, ray::CLASS.METHOD for one running that method right now. Descendants of
    this process only: other Ray instances on the machine are none of the test's business."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().startswith(title) and descends_from_us(int(pid)):
                    found.append(int(pid))
        except OSError:
            continue
    return found


def descends_from_us(pid: int) -> bool:
    while pid > 1:
        if pid == os.getpid():
            return True
        with open(f"/proc/{pid}/stat") as f:  # "pid (comm) state ppid ...": comm may hold spaces
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    return False


def rollout_actors(busy: bool) -> list[int]:
    return actor_processes(b"ray::_RolloutWorker.rollout" if busy else b"ray::_RolloutWorker")


def wait_until_only(title: bytes, count: int, seconds: float = 300) -> list[int]:
    """The processes of that title once no more than `count` are left, or after `seconds`:
    the wait returns as soon as Ray has reaped the others (an exited actor, or one whose
    handle was dropped, as a learner rebuilt twice on a loaded machine), and is long
    because Ray's workers run niced, so on a busy machine they exit minutes late."""
    deadline = time.time() + seconds
    while len(actor_processes(title)) > count and time.time() < deadline:
        time.sleep(0.1)
    return actor_processes(title)


def wait_until_gone(title: bytes) -> list[int]:
    """The processes of that title still alive once all are gone or the wait ran out."""
    return wait_until_only(title, 0)


def test_league_on_ray_with_a_killed_rollout_actor_plays_the_local_games(cluster, tmp_path):
    gate = Gate(tmp_path)
    local = gate.open_for(lambda: gated_league(gate, tmp_path / "local"))
    with gate.on_ray(lambda backend: gated_league(gate, tmp_path / "ray", backend)) as run:
        victim = gate.held(run)[0][0]  # the first rollout actor seen holding a match dies
        assert victim in rollout_actors(busy=True)
        os.kill(victim, signal.SIGKILL)
    remote = run.result
    ours, theirs = games_of(remote), games_of(local)
    keys = list(zip(ours["match_id"], ours["game_index"], strict=True))
    assert len(keys) == len(set(keys))
    # Training matches, learners' samples, training and evaluation: game for game the same.
    assert ours == theirs
    assert any(ids.parse_match_id(m).kind == "eval" for m in ours["match_id"])
    # Snapshots reach workers as checkpoint files through the object store.
    assert any(name.endswith("-s1") for seats in ours["agents"] for name in seats)
    assert not wait_until_gone(b"ray::_RolloutWorker"), "the backend's actors outlive it"
    assert not wait_until_gone(b"ray::_LearnerActor"), "the learners' actors outlive it"


@pytest.fixture(scope="module")
def local_three_rounds(tmp_path_factory):
    """The games of a 3-round TINY league on the local backend."""
    out = tmp_path_factory.mktemp("local-league") / "league"
    return games_of(run_league({**TINY, "rounds": 3, "out": str(out)}, log=lambda _: None))


def test_league_learners_live_on_actors_and_a_killed_one_is_rebuilt(
    cluster, local_three_rounds, tmp_path
):
    """SIGKILL every learner's actor after round 1: each is rebuilt from its round-1 save
    and the league plays on, game for game as the local league (the saves hold all of
    these small buffers, so the rebuilt learners are exactly the lost ones)."""
    values = {**TINY, "rounds": 3}
    killed: list[int] = []

    def log(line: str) -> None:
        if line.startswith("round 1: ") and "games (" in line:  # round 1 is saved
            for pid in actor_processes(b"ray::_LearnerActor"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with RayBackend() as backend:
        league = League(
            resolve_league({**values, "out": str(tmp_path / "ray")}), log=log, backend=backend
        )
        assert len(actor_processes(b"ray::_LearnerActor")) == len(league.slots) == 3
        league.run()
        main = next(s.learner for s in league.slots if s.role == "main")
        assert isinstance(main, RemoteLearner) and main.restarts == 1
        alive = wait_until_only(b"ray::_LearnerActor", 3)
        assert len(alive) == 3 and not set(alive) & set(killed)
    assert len(killed) == 3
    ours = games_of(tmp_path / "ray")
    keys = list(zip(ours["match_id"], ours["game_index"], strict=True))
    assert len(keys) == len(set(keys))
    assert ours == local_three_rounds
    assert not wait_until_gone(b"ray::_LearnerActor"), "the learners' actors outlive it"


def test_league_resumed_on_ray_goes_on_as_the_uninterrupted_local_one(
    cluster, local_three_rounds, tmp_path
):
    """Learner actors load the saved learners (sent as bytes) and carry on exactly."""
    values = {**TINY, "out": str(tmp_path / "ray")}
    with RayBackend() as backend:
        run_league({**values, "rounds": 2}, log=lambda _: None, backend=backend)
    lines: list[str] = []
    with RayBackend() as backend:
        run_league({**values, "rounds": 1}, resume=True, log=lines.append, backend=backend)
    assert lines[0].startswith("resumed after round 2")
    assert games_of(tmp_path / "ray") == local_three_rounds


def test_psro_sampled_payoffs_on_ray_play_the_local_games(cluster, tmp_path):
    """A PSRO run stopped with a trained member pending (tests.test_psro_sampled), copied:
    one copy resumes here, the other through the CLI on the cluster (its members'
    checkpoints travel through the object store); both store the same games."""
    import shutil

    from arena import psro
    from tests.test_psro_sampled import check_run, pending_run, sampled_values

    local = pending_run(tmp_path / "local")
    shutil.copytree(local, tmp_path / "ray")
    psro.run_psro(sampled_values(local, 2), resume=True, log=lambda _: None)
    command = [sys.executable, "-m", "arena", "league", "run", "--resume"]
    command += ["--out", str(tmp_path / "ray"), "--backend", "ray", "--address", cluster]
    command += ["--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ray backend: 2 workers" in done.stdout
    assert "the stored member br2" in done.stdout
    check_run(tmp_path / "ray", 2)
    assert games_of(tmp_path / "ray") == games_of(local)


def test_cli_tournament_joins_a_cluster_by_address(cluster, tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "arena", "tournament", "--game", "tic_tac_toe"]
    command += ["--agents", "random", "greedy", "--games-per-pair", "40", "--concurrency", "10"]
    command += ["--out", str(out), "--no-progress", "--backend", "ray", "--address", cluster]
    command += ["--workers", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ray backend: 1 workers" in done.stdout
    assert "played 40 games" in done.stdout
    assert len(games_of(out)["match_id"]) == 40


def test_backend_choice_errors():
    with pytest.raises(ValueError, match="--address needs --backend ray"):
        make_backend("local", address="127.0.0.1:6379")
    with pytest.raises(ValueError, match="--workers needs --backend ray"):
        make_backend("local", workers=2)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        make_backend("ray", workers=0)
    with pytest.raises(ValueError, match="HOST:PORT"):
        make_backend("ray", address="my-cluster")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ValueError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        make_backend("ray", address=f"127.0.0.1:{port}")
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        make_backend("spark")
    assert isinstance(make_backend("local"), LocalBackend)


def test_a_recorded_cluster_that_died_is_not_waited_for(tmp_path, monkeypatch):
    """Ray records the cluster it last started in RAY_TMPDIR/ray/ray_current_cluster and a bare
    ray.init joins it; a cluster killed without shutting down leaves the record, and
    ray.init then waited minutes for it. The backend starts a new one instead."""
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not _recorded_cluster_is_dead()  # nothing recorded
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        (tmp_path / "ray").mkdir()
        (tmp_path / "ray" / "ray_current_cluster").write_text(address)
        assert not _recorded_cluster_is_dead()  # it answers: join it
    assert _recorded_cluster_is_dead()  # closed now
    monkeypatch.setenv("RAY_ADDRESS", address)
    assert not _recorded_cluster_is_dead()  # the user's choice stands


def test_cli_bench_backends_compares_local_and_ray(cluster):
    command = [sys.executable, "-m", "arena", "bench", "backends", "--games", "2048"]
    command += ["--workers", "1", "--repeats", "1", "--address", cluster]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("local") and "(100% of local" in line for line in lines)
    assert any(line.startswith("ray, 1 worker ") and "games/s" in line for line in lines)
    bad = subprocess.run(
        [*command[:5], "--workers", "0"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0 and "workers must be at least 1" in bad.stdout + bad.stderr


def test_cli_study_trains_its_learner_on_an_actor_and_self_plays_on_rollout_actors(
    cluster, tmp_path
):
    """`arena study run --backend ray`: the learner lives on an actor, each round's self-play
    is one match per worker on the rollout actors; the snapshots come out as locally, and
    the rating matches played on the cluster land in the study's replays and ratings."""
    from typer.testing import CliRunner

    from arena.cli import app
    from arena.study.tables import read_table
    from arena.study.train import read_snapshots

    out = tmp_path / "study"
    args = ["--game", "tic_tac_toe", "--nets", "1x8", "--train-minutes", "0.02,0.04"]
    args += ["--sims", "1", "--budget-minutes", "1", "--out", str(out)]
    args += ["--backend", "ray", "--address", cluster, "--workers", "2"]
    result = CliRunner().invoke(app, ["study", "run", *args])
    assert result.exit_code == 0, result.output
    assert "ray backend: 2 workers" in result.output
    rows = read_snapshots(out).to_pylist()
    assert [r["snapshot"] for r in rows] == ["1x8@t0.02m", "1x8@t0.04m"]
    for row in rows:  # rounds of 2 matches of 64 games, trained on the actor
        assert row["games"] % 128 == 0 and row["steps"] > 0 and row["train_flops"] > 0
        assert (out / f"{row['checkpoint']}.safetensors").is_file()
    pairs = read_table(out, "pairings").to_pylist()
    statuses = [p["status"] for p in pairs]
    rated = {r["agent"] for r in read_table(out, "ratings").to_pylist()}
    # How many pairs fit the budget depends on the machine's load (the anchors' chain plays
    # first), so the check is on whatever was played, not on a fixed set of players.
    played = {a for p in pairs if p["status"] == "played" for a in (p["first"], p["second"])}
    assert "played" in statuses and played == rated
    matches = set(replays.open(out).to_table(columns=["match_id"]).column("match_id").to_pylist())
    assert len(matches) == statuses.count("played")  # each played on the cluster, stored once
    assert not wait_until_gone(b"ray::_LearnerActor"), "the learner's actor outlives it"
