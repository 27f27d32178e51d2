"""League ids (arena.ids): what is built parses back, anything else is refused."""

from __future__ import annotations

import duckdb
import pytest

from arena import ids


@pytest.mark.parametrize("round_index", [0, 7, 12, 99_999, 123_456])
@pytest.mark.parametrize("kind", ids.MATCH_KINDS)
def test_match_ids_round_trip(round_index, kind):
    made = ids.match_id(round_index, kind, 42, "main", 3)
    assert ids.parse_match_id(made) == (round_index, kind)
    assert made == ids.match_id(round_index, kind, 42, "main", 3)  # a resumed round finds it
    assert made != ids.match_id(round_index, kind, 42, "main", 4)


def test_match_ids_keep_the_digest_of_stored_runs():
    # League runs on disk hold ids made this way: resuming one must find its matches.
    assert ids.match_id(3, "eval", 1, 2, "a") == "r00003-eval-87a28deb1803"


def test_match_ids_sort_by_round_from_their_round_tag():
    later = [ids.match_id(r, "train", r) for r in (5, 6, 40)]
    assert all(m >= ids.round_tag(5) for m in later)
    assert ids.match_id(4, "eval", 4) < ids.round_tag(5)
    assert ids.round_tag(12) == "r00012"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "r0012-eval-87a28deb1803",  # four digits
        "r00012-play-87a28deb1803",  # no such kind
        "r00012-eval-87a28deb180",  # short digest
        "r00012-eval-87A28DEB1803",  # not lowercase hex
        "r00012-eval-87a28deb1803x",
        "x00012-eval-87a28deb1803",
        "3f9a0c1b2d4e5f60",  # a tournament's match id
    ],
)
def test_malformed_match_ids_are_refused(text):
    with pytest.raises(ValueError, match="not a league match id"):
        ids.parse_match_id(text)


def test_eval_only_selects_exactly_the_evaluation_matches():
    made = [ids.match_id(r, k, r) for r in (1, 2) for k in ids.MATCH_KINDS]
    rows = [(m,) for m in [*made, "3f9a0c1b2d4e5f60", "eval-r1"]]
    connection = duckdb.connect()
    connection.execute("CREATE TABLE games (match_id VARCHAR)")
    connection.executemany("INSERT INTO games VALUES (?)", rows)
    chosen = connection.sql(f"SELECT match_id FROM games WHERE {ids.EVAL_ONLY}").fetchall()
    assert sorted(m for (m,) in chosen) == sorted(
        m for m in made if ids.parse_match_id(m).kind == "eval"
    )


@pytest.mark.parametrize("learner", ["main", "main_exploiter", "league_exploiter2"])
@pytest.mark.parametrize("round_index", [0, 12, 10_000])
def test_version_ids_round_trip(learner, round_index):
    version = ids.version_id(learner, round_index)
    assert ids.parse_version_id(version) == (learner, round_index)
    assert ids.learner_of(version) == learner
    assert version.startswith(ids.version_prefix(learner))
    assert ids.version_id("main", 12) == "main@r0012"


def test_a_version_prefix_is_no_other_learners():
    assert not ids.version_id("main_exploiter", 3).startswith(ids.version_prefix("main"))
    assert not ids.snapshot_name("main", 1).startswith(ids.version_prefix("main"))


@pytest.mark.parametrize("agent", ["random", "main", "main-s1", "main@r12", "@r0012", "main@r"])
def test_other_agents_are_not_versions(agent):
    assert ids.learner_of(agent) == agent
    with pytest.raises(ValueError, match="not a learner version id"):
        ids.parse_version_id(agent)


@pytest.mark.parametrize("number", [1, 2, 37])
def test_snapshot_names_round_trip(number):
    name = ids.snapshot_name("main_exploiter", number)
    assert ids.parse_snapshot_name(name) == ("main_exploiter", number)
    assert ids.learner_of(name) == name  # a snapshot is an agent of its own


@pytest.mark.parametrize("agent", ["main", "main-s0", "main-s01", "-s1", "main-s", "main@r0001"])
def test_malformed_snapshot_names_are_refused(agent):
    with pytest.raises(ValueError, match="not a snapshot name"):
        ids.parse_snapshot_name(agent)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ids.match_id(1, "play", 0), "match kind must be one of train, eval"),
        (lambda: ids.match_id(-1, "eval", 0), "round must be an integer >= 0"),
        (lambda: ids.round_tag(1.5), "round must be an integer >= 0"),
        (lambda: ids.version_id("main", True), "round must be an integer >= 0"),
        (lambda: ids.version_id("a@r1", 3), "a learner name is letters, digits and _"),
        (lambda: ids.version_id("", 3), "a learner name is letters, digits and _"),
        (lambda: ids.snapshot_name("main", 0), "snapshot number must be an integer >= 1"),
        (lambda: ids.snapshot_name("../x", 1), "a learner name is letters, digits and _"),
    ],
)
def test_builders_refuse_what_would_not_parse_back(build, message):
    with pytest.raises(ValueError, match=message):
        build()
