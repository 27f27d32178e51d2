"""Random input to parsing and validation: agent specs, game names, TOML configs and CLI
arguments. Whatever comes in, the answer is a result or a data error (a ValueError, an
OSError, a replay error...), and the CLI answers with a message and exit status 0 or 2,
never a traceback. Nothing here starts a long job or a server: the CLI cases either fail
validation or read a tiny run."""

from __future__ import annotations

import string

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import agents
import games
from agents.spec import KINDS
from arena import league, tournament
from arena.cli import app
from arena.config import load_toml
from arena.terminal import is_data_error

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as a command line or a UTF-8 file can carry it (no lone surrogates).
plain = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
# Rich markup and emoji codes, which must print as typed wherever a user string goes.
MARKUP = ["[/]", "[red]", "[/red]", "[bold", "[link=x]", ":smile:"]
text = plain | st.builds("{}{}{}".format, plain, st.sampled_from(MARKUP), plain)
word = st.text(string.ascii_letters + string.digits + "_.-/[]:=, ", max_size=12)
number = st.one_of(
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.floats()
).map(str)
param_names = sorted({name for kind in KINDS.values() for name in kind.params})
param = st.one_of(
    st.builds("{}={}".format, st.sampled_from(param_names) | word, number | word), word
)
spec = st.one_of(
    text,
    st.builds(
        lambda kind, params: kind + (":" + ",".join(params) if params else ""),
        st.sampled_from([*KINDS, "tests.agents_for_tests:Crashing", "no.such_module:Agent"]),
        st.lists(param, max_size=4),
    ),
)


def outcome(call, *args, **kwargs) -> None:
    """Run `call`; a result or a data error are fine, any other exception is a finding."""
    try:
        call(*args, **kwargs)
    except Exception as err:
        assert is_data_error(err), f"{type(err).__name__}: {err}"


@FUZZ
@given(name=st.one_of(text, st.sampled_from(games.names())), agent=spec)
def test_game_names_and_agent_specs(name, agent):
    outcome(games.make, name)
    outcome(agents.make, agent, games.make("tic_tac_toe"))


# TOML values of every kind, nested a little.
toml_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    text,
    st.datetimes(),
)
toml_value = st.recursive(
    toml_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(word, inner, max_size=3),
    max_leaves=6,
)


def config_values(schema: dict, good: dict) -> st.SearchStrategy[dict]:
    """Dicts over a config schema's keys (plus stray ones): plausible or random values."""
    keys = {key: good.get(key, toml_value) | toml_value for key in schema}
    return st.fixed_dictionaries({}, optional=keys) | st.dictionaries(word, toml_value)


small_int = st.integers(min_value=-3, max_value=10**12)
tournament_values = config_values(
    tournament.SCHEMA,
    {
        "game": st.sampled_from(games.names()),
        "agents": st.lists(spec, max_size=4),
        "format": st.sampled_from(tournament.FORMATS),
        "games_per_pair": small_int,
        "seed": small_int,
        "concurrency": small_int,
        "opening_plies": small_int,
        "out": word,
    },
)
section = {
    name: config_values(schema, {key: small_int for key in schema})
    for name, schema in league.SECTIONS.items()
}
section["league"] = section["league"] | st.builds(
    lambda anchors: {"anchors": anchors}, st.lists(spec, max_size=3)
)
league_values = config_values(
    league.SCHEMA,
    {"game": st.sampled_from(games.names()), "out": word, **section},
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize(
    "values, resolve",
    [(tournament_values, tournament.resolve), (league_values, league.resolve)],
    ids=["tournament", "league"],
)
def test_configs(scratch, values, resolve):
    """A config written as TOML, read back and resolved (validated, defaults filled)."""
    path = scratch / "config.toml"

    @FUZZ
    @given(values=values)
    def check(values):
        path.write_text(tomli_w.dumps(values))
        outcome(lambda: resolve(load_toml(path)))

    check()


@FUZZ
@given(content=st.binary(max_size=200) | text.map(str.encode))
def test_arbitrary_config_files(scratch, content):
    path = scratch / "random.toml"
    path.write_bytes(content)
    outcome(load_toml, path)


NAMES = ["x[/]", "[red]evil"]


@pytest.fixture(scope="module")
def run(scratch):
    """A tiny run for the read-only commands to read, its agents named with markup."""
    out = scratch / "run"
    done = CliRunner().invoke(
        app,
        ["tournament", "--game", "tic_tac_toe", "--agents", *(f"{n}=random" for n in NAMES)]
        + ["--games-per-pair", "4", "--out", str(out), "--no-progress"],
    )
    assert done.exit_code == 0, done.output
    return out


def cli_arguments(run, scratch) -> st.SearchStrategy[list[str]]:
    missing = str(scratch / "missing")
    a_file = scratch / "a-file"
    a_file.write_text("not a run")
    folder = st.sampled_from([str(run), missing, str(a_file), str(scratch)]) | text
    name = st.sampled_from(NAMES) | text
    never_positive = st.integers(max_value=0).map(str) | word
    bad_port = st.one_of(st.integers(max_value=0), st.integers(min_value=65536)).map(str) | st.text(
        string.ascii_letters, min_size=1
    )
    return st.one_of(
        st.tuples(st.just("ratings"), folder, st.just("--anchor"), text),
        st.tuples(
            st.just("sprt"),
            folder,
            name,
            name,
            st.just("--elo0"),
            number,
            st.just("--elo1"),
            number,
            st.just("--alpha"),
            number,
            st.just("--model"),
            word,
        ),  # fmt: skip
        st.tuples(st.just("replays"), st.just("show"), folder, text, number),
        st.tuples(st.just("replays"), st.just("compact"), st.just(missing), number),
        # Never a real tournament: games_per_pair is never a positive number.
        st.tuples(
            st.just("tournament"),
            st.just("--game"),
            st.sampled_from(games.names()) | text,
            st.just("--agents"),
            spec,
            spec,
            st.just("--games-per-pair"),
            never_positive,
            st.just("--seed"),
            number,
            st.just("--concurrency"),
            number,
            st.just("--out"),
            st.just(missing),
            st.just("--no-progress"),
        ),  # fmt: skip
        # Never a server: the port is never valid.
        st.tuples(
            st.just("dashboard"), folder, st.just("--port"), bad_port, st.just("--host"), text
        ),
        st.tuples(
            st.just("eval"),
            st.just("positions"),
            st.just("--agent"),
            spec,
            st.just("--set"),
            st.just(missing),
        ),  # fmt: skip
        # Stray tokens after the read-only commands.
        st.tuples(st.sampled_from(["ratings", "sprt", "replays", "eval"]), text, text),
    ).map(list)


def test_cli_arguments(run, scratch):
    @FUZZ
    @given(args=cli_arguments(run, scratch))
    def check(args):
        result = CliRunner().invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args,
            result.output,
        )
        assert result.exit_code in (0, 2), (args, result.output)
        assert "Traceback" not in result.output

    check()
