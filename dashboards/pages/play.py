"""Play a game against any registered agent or any league snapshot, by clicking the board.

Each browser tab keeps its own game in its session; a finished game (resigned ones too) is
written to the runs folder's human-games run (`RUNS/human/`, dashboards.human), where the
replay browser shows it and ratings rate its players like any others.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import games
import replays
from dashboards import board, data, human, opponents, ui
from dashboards.playing import Game, IllegalMove

# Games played from this page: one player moves at a time (not goofspiel's simultaneous
# bids, nor the one-shot matrix games).
PLAYABLE = [n for n in games.names() if not games.make(n).simultaneous]
# What card games' actions mean (OpenSpiel's action names), for their buttons.
ACTION_NAMES = {"kuhn_poker": ("pass", "bet"), "leduc_poker": ("fold", "call", "raise")}
# What a board game's moves without a cell are called, for their buttons.
CELLLESS_NAMES = {"go": "Pass", "othello": "Pass", "hex": "Swap"}
DEFAULT_SIMS = 800
state = st.session_state


def choose_opponent(game: games.Game) -> opponents.Opponent:
    choices = opponents.registered(game.spec) + opponents.snapshots(data.runs_dir(), game.spec)
    by_id = {o.id: o for o in choices}
    default = next((list(by_id).index(k) for k in ("mcts", "random") if k in by_id), 0)
    chosen = by_id[
        st.selectbox(
            "Opponent",
            list(by_id),
            index=default,
            format_func=lambda i: by_id[i].label,
            key="play_opponent",
            help="A registered agent kind, or a snapshot of a league in the runs folder.",
        )
    ]
    if not chosen.searches:
        return chosen
    sims = st.number_input(
        "Simulations per move (the agent's budget)",
        min_value=1,
        max_value=100_000,
        value=chosen.sims or DEFAULT_SIMS,
        step=100,
        key=f"play_sims_{chosen.id}",  # each opponent starts at its own budget
    )
    return chosen.with_budget(int(sims))


def setup() -> None:
    """The new-game form: game, opponent and budget, seat, name."""
    with st.expander("New game", expanded="play_game" not in state):
        left, middle, right = st.columns(3)
        name = left.selectbox(
            "Game", PLAYABLE, index=PLAYABLE.index("connect_four"), key="play_name"
        )
        settings = left.text_input(
            "Game settings", key="play_settings", placeholder="e.g. size=9 for go or hex"
        )
        try:
            game = games.make(f"{name}:{settings}" if settings.strip() else name)
        except ValueError as err:
            left.error(f"Game settings: {ui.plain(err)}")
            return
        with middle:
            opponent = choose_opponent(game)
        seat = right.selectbox(
            "Your seat",
            range(game.num_players),
            format_func=lambda s: "first (player 0)" if s == 0 else f"player {s}",
            key="play_seat",
        )
        player = right.text_input("Your name", value="player", key="play_player")
        if st.button("Start", type="primary", key="play_start", icon=":material/play_arrow:"):
            start(game, opponent, seat, player)


def start(game: games.Game, opponent: opponents.Opponent, seat: int, player: str) -> None:
    try:
        me = human.human_id(player.strip())
    except ValueError as err:
        st.error(ui.plain(err))  # it quotes the name typed
        return
    try:
        with st.spinner(f"Loading {ui.plain(opponent.id)}"):
            agent = opponent.build(game)
    except Exception as err:  # any failure to load is the opponent's, shown on the page
        st.error(f"{ui.plain(opponent.id)} cannot be loaded: {ui.plain(err)}")
        return
    seats = [opponent.id] * game.num_players
    seats[seat] = me
    rng = np.random.default_rng()
    state.play_game = Game(game.spec, int(rng.integers(0, 2**62)), seats, seat)
    state.play_agent, state.play_rng, state.play_saved = agent, rng, None
    state.play_notice = None


def move(action: int) -> None:
    """The person's move (from a button, the board or the move box); illegal: a notice."""
    try:
        state.play_game.play(action)
        state.play_notice = None
    except IllegalMove as err:
        state.play_notice = f"Ignored: {err}."


def typed_move() -> None:
    text = state.play_typed.strip()
    state.play_typed = ""
    if not text.isdigit():
        state.play_notice = f"Ignored: {text!r} is not a move number."
        return
    move(int(text))


def undo() -> None:
    try:
        state.play_game.undo()
        state.play_notice = None
    except IllegalMove as err:
        state.play_notice = f"Ignored: {err}."


def resign() -> None:
    try:
        state.play_game.resign()
    except IllegalMove as err:
        state.play_notice = f"Ignored: {err}."


def controls(game: Game, rules: games.Game) -> None:
    """Undo, resign, pass (board games with a pass move) and the move box."""
    legal = game.legal()
    columns = st.columns(3)
    columns[0].button(
        "Undo", icon=":material/undo:", on_click=undo, key="play_undo", disabled=game.over
    )
    columns[1].button(
        "Resign", icon=":material/flag:", on_click=resign, key="play_resign", disabled=game.over
    )
    for k, action in enumerate(board.cellless_moves(rules)):
        columns[2].button(
            CELLLESS_NAMES.get(rules.name, f"Move {action}"),
            on_click=move,
            args=(action,),
            key=f"play_cellless_{k}",
            disabled=not legal[action],
        )
    st.text_input(
        "Or type a move number",
        key="play_typed",
        on_change=typed_move,
        disabled=not game.humans_turn(),
        help="Moves are numbered as in the replays (Connect Four: columns 0-6 from the left).",
    )


def card_table(game: Game, rules: games.Game, position: games.State) -> None:
    """A card game from your seat: what you see, and your actions as buttons; every card
    is shown face up once the game is over."""
    if game.over:
        st.markdown(rules.render_svg(position, 0), unsafe_allow_html=True)
        return
    seen = rules.information_string(position, 0, game.human)
    st.markdown(f"**What you see** (your information state, as OpenSpiel writes it): `{seen}`")
    names = ACTION_NAMES.get(rules.name, ())
    legal = np.flatnonzero(game.legal())
    if not game.humans_turn() or not legal.size:
        return
    for column, action in zip(st.columns(legal.size), legal, strict=True):
        column.button(
            names[action] if action < len(names) else f"action {action}",
            on_click=move,
            args=(int(action),),
            key=f"play_action_{action}",
        )


def result(game: Game) -> str:
    returns = game.returns()
    if game.resigned:
        return "You resigned."
    best = returns.max()
    if (returns == best).sum() > 1:
        return "A draw."
    return "You won!" if returns[game.human] == best else "You lost."


def save(game: Game) -> None:
    """Write the finished game to RUNS/human once."""
    if state.get("play_saved"):
        return
    try:
        with ui.guard("Saving the game"):
            state.play_saved = human.save(data.runs_dir(), game)
            data.find_runs.clear()  # the first game made the human-games run: list it now
    except replays.RunLockedError as err:  # unsaved: the next rerun tries again
        st.error(f"Saving the game: {ui.plain(err)}")


def play(game: Game) -> None:
    rules = game.rules
    opponent = ui.plain(next(s for i, s in enumerate(game.seats) if i != game.human))
    if not game.over and not game.humans_turn():
        with st.spinner(f"{opponent} thinks"):
            game.reply(state.play_agent, state.play_rng)
    position = game.state()
    caption = f"You ({ui.plain(game.seats[game.human])}, player {game.human}) against {opponent}"
    if game.think_seconds is not None:
        caption += f"; its last move took {game.think_seconds:.2f} s"
    st.caption(caption + ".")
    left, right = st.columns([3, 2])
    with left:
        if rules.hidden:
            card_table(game, rules, position)
        else:
            svg = rules.render_svg(position, 0)
            click = board.clickable_board(svg, len(game.history), game.humans_turn(), "play_board")
            if click:
                action = board.action_at(rules, click)
                if action is None:
                    state.play_notice = "Ignored: that click is off the board."
                else:
                    move(action)
                st.rerun()
    with right:
        if state.get("play_notice"):
            st.warning(state.play_notice, icon=":material/block:")
        if game.over:
            st.success(f"{result(game)} {len(game.history)} moves.")
            save(game)
            if state.get("play_saved"):
                where = ui.plain(human.run_dir(data.runs_dir()))
                st.caption(f"Saved as {state.play_saved} in {where}.")
                st.page_link("pages/replays.py", label="Open the replays", icon=":material/replay:")
        elif game.humans_turn():
            st.info("Your move: click the board." if not rules.hidden else "Your move.")
        controls(game, rules)


ui.setup("Play")
st.title("Play")
setup()
if "play_game" in state:
    play(state.play_game)
else:
    st.info("Choose a game and an opponent, then press Start.")
