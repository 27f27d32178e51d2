"""Replay browser: filter the run's games, download them, open one and step through it."""

import datetime as dt
import html
import math

import numpy as np
import streamlit as st

import games
import replays
from dashboards import charts, data, queries, ui, why
from dashboards.queries import GameFilter, Summary

PAGE_SIZE = 100
EXPORT_LIMIT = 100_000  # games per download: beyond, the filters should narrow it down
SPEEDS = (0.25, 0.5, 1.0, 2.0)  # seconds per move in autoplay
ANY, DRAW, WON = "any", "draw", "won"
state = st.session_state


def filters(summary: Summary) -> GameFilter:
    """The filter widgets; a range left at its full extent adds no condition."""
    with st.expander("Filters", expanded=True):
        left, middle, right = st.columns(3)
        agents = left.multiselect("Agents (all of them play)", summary.agents, key="f_agents")
        results = {(ANY, ""): "any", (DRAW, ""): "draw"}
        results.update({(WON, a): f"won by {a}" for a in summary.agents})
        result = middle.selectbox(
            "Result", list(results), format_func=results.__getitem__, key="f_result"
        )
        terminations = right.multiselect("Termination", summary.terminations, key="f_term")
        low, high = summary.min_plies, summary.max_plies
        plies = (low, high)
        if high > low:
            plies = left.slider("Length (plies)", low, high, (low, high), key="f_plies")
        start = end = None
        if summary.first_start and summary.last_end and summary.last_end > summary.first_start:
            first = summary.first_start.astimezone(dt.timezone.utc).replace(tzinfo=None)
            last = summary.last_end.astimezone(dt.timezone.utc).replace(tzinfo=None)
            step = max((last - first) / 500, dt.timedelta(seconds=1))
            chosen = middle.slider(
                "Started (UTC)",
                min_value=first,
                max_value=last,
                value=(first, last),
                step=step,
                format="YYYY-MM-DD HH:mm:ss",
                key="f_time",
            )
            if chosen != (first, last):
                start, end = (t.replace(tzinfo=dt.timezone.utc) for t in chosen)
    return GameFilter(
        agents=tuple(agents),
        winner=result[1] if result[0] == WON else None,
        draws_only=result[0] == DRAW,
        min_plies=plies[0] if plies[0] > low else None,
        max_plies=plies[1] if plies[1] < high else None,
        terminations=tuple(terminations),
        start=start,
        end=end,
    )


def downloads(run: data.Run, flt: GameFilter, total: int) -> None:
    """Parquet and CSV of the matching games, built only when a button is clicked."""
    count = min(total, EXPORT_LIMIT)
    parts, schema = data.files(run), data.dataset(run).parts[0].schema
    note = f" (the newest {EXPORT_LIMIT:,}; narrow the filters for others)" if total > count else ""
    st.caption(f"Download the {count:,} matching games{note}:")
    left, right, _ = st.columns([1, 1, 4])
    for column, fmt, mime in (
        (left, "parquet", "application/vnd.apache.parquet"),
        (right, "csv", "text/csv"),
    ):
        column.download_button(
            fmt.capitalize() if fmt == "parquet" else "CSV",
            data=lambda fmt=fmt: queries.export(parts, flt, fmt, EXPORT_LIMIT, schema),
            file_name=f"{run.name}-games.{fmt}",
            mime=mime,
            on_click="ignore",
            key=f"download_{fmt}",
            icon=":material/download:",
        )


def game_label(row: dict) -> str:
    return (
        f"{row['match_id']} #{row['game_index']}: {row['players']}, "
        f"{'draw' if row['winner'] == 'draw' else row['winner'] + ' won'}, {row['plies']} plies"
    )


def pick_listed_row() -> None:
    """A row clicked in the listing opens that game."""
    rows = state.listing.selection.rows
    if rows:
        state.game = state.listing_keys[rows[0]]


def step(delta: int, last: int) -> None:
    state.ply = min(max(state.get("ply", 0) + delta, 0), last)
    stop_autoplay()


def stop_autoplay() -> None:
    if state.get("autoplay"):
        state.stop_autoplay = True  # the page turns the toggle off at its next full run


def stepper(game: games.Game, replay: replays.Replay) -> None:
    """The board with its controls; a fragment, so stepping redraws only this part."""
    last = replay.plies
    if state.get("stop_autoplay"):
        st.rerun(scope="app")
    if state.get("autoplay"):
        if state.get("ply", 0) < last:
            state.ply = state.get("ply", 0) + 1
        else:
            state.stop_autoplay = True
            st.rerun(scope="app")
    ply = state.get("ply", 0)
    result = grade_moves(replay) if state.get("grade_moves") else None
    board, notes = st.columns(2)
    with board:
        buttons = board.columns(4)
        for column, label, icon, delta in (
            (buttons[0], "First", ":material/first_page:", -last),
            (buttons[1], "Previous", ":material/chevron_left:", -1),
            (buttons[2], "Next", ":material/chevron_right:", 1),
            (buttons[3], "Last", ":material/last_page:", last),
        ):
            column.button(
                label,
                icon=icon,
                key=f"step_{label.lower()}",
                on_click=step,
                args=(delta, last),
                disabled=(delta < 0 and ply == 0) or (delta > 0 and ply == last),
            )
        if last > 0:
            st.slider("Position (moves played)", 0, last, key="ply", on_change=stop_autoplay)
        # Inline SVG (st.html would strip it); the data attributes name what is shown.
        graded = result.at(ply) if result is not None else None
        best = None if graded is None else int(graded["best"])
        svg = why.board_with_heat(game, replay, ply, best)
        cells = games.board(game)
        if state.get("move_numbers") and cells is not None:
            svg = cells.numbered(svg, replay.states.data[: ply + 1])
        shown = f'data-game="{html.escape(replay.match_id)} #{replay.game_index}" data-ply="{ply}"'
        st.markdown(f'<div class="arena-board" {shown}>{svg}</div>', unsafe_allow_html=True)
        movers = replay.movers
        if ply == 0:
            first = "chance" if last and movers[0] < 0 else ui.plain(replay.agents[0])
            st.caption(f"Start position; {first} moves first.")
        elif movers[ply - 1] < 0:  # a deal: the pictures show every card face up
            st.caption(f"After move {ply} of {last}: chance drew {int(replay.actions[ply - 1])}.")
        else:
            mover = int(movers[ply - 1])
            st.caption(
                f"After move {ply} of {last}: {ui.plain(replay.agents[mover])} (player {mover}) "
                f"played "
                f"{int(replay.actions[ply - 1])}; the last move is ringed."
            )
        search_caption(replay, ply)
    with notes:
        annotations(replay, ply, result)


def search_caption(replay: replays.Replay, ply: int) -> None:
    """What the search of the next move thought: its visits (drawn on the board) and the
    mover's root value as a bar."""
    if ply >= replay.plies or replay.movers[ply] < 0:
        return
    mover = ui.plain(replay.agents[int(replay.movers[ply])])  # both texts are markdown
    if replay.search_visits is not None and (replay.search_visits[ply] >= 0).any():
        counts = replay.search_visits[ply]
        best = int(counts.argmax())
        st.caption(
            f"Heat map: where {mover}'s search went for move {ply + 1} ({int(counts.sum()):,} "
            f"visits; most on {best}); it played {int(replay.actions[ply])}."
        )
    if replay.values is not None and not math.isnan(replay.values[ply]):
        value = float(replay.values[ply])
        st.progress((value + 1) / 2, text=f"{mover}'s value before move {ply + 1}: {value:+.2f}")


def annotations(replay: replays.Replay, ply: int, result: why.Grades | None) -> None:
    frame = charts.annotation_frame(replay)
    shown = False
    player0 = why.player0_values(replay)
    if player0 is not None and not np.isnan(player0).all():
        st.markdown("**Value over the game** (player 0's view: +1 is a win for player 0)")
        st.altair_chart(charts.value_graph(player0, ply), key="chart_value_graph")
        shown = True
    for column, title, kind in (
        ("value", "Value (the mover's own estimate, -1 to 1)", "line"),
        ("policy entropy", "Policy entropy (nats)", "bar"),
        ("visits", "Search visits", "bar"),
    ):
        if column in frame and frame[column].notna().any():
            st.markdown(f"**{title}**")
            st.altair_chart(charts.per_move(frame, column, ply, kind), key=f"chart_{column}")
            shown = True
    if not shown:
        st.info("No per-move annotations were stored for this game's moves.")
    st.caption(
        "Replays store each move's value, policy entropy and search visits when the agent "
        "reports them, not its whole policy."
    )
    with st.expander("Moves"):
        st.dataframe(frame, hide_index=True, key="moves_table")
    grades(ply, result)


@st.cache_data(max_entries=16, show_spinner=False)
def _grades(_replay: replays.Replay, path: str, game: tuple) -> why.Grades:
    """Grades of the game `game` (match id, index) of the run at `path` (a stored game
    never changes, so neither do they)."""
    return why.grade_moves(games.make(_replay.game), _replay)


def grade_moves(replay: replays.Replay) -> why.Grades | None:
    """Every move graded, on demand (solving or searching takes seconds; then cached)."""
    with ui.guard("Grading the moves"), st.spinner("Grading the moves..."):
        return _grades(replay, run.path, (replay.match_id, replay.game_index))
    return None  # the guard showed why


def grades(ply: int, result: why.Grades | None) -> None:
    """The switch, and the grades with the move at the position shown above them (its
    best move is also ringed on the board)."""
    st.toggle("Grade the moves", key="grade_moves")
    if result is None:
        return
    st.caption(f"Graded by {result.source}; values are the mover's (+1 win, -1 loss).")
    row = result.at(ply)
    if row is not None:
        st.markdown(
            f"Move {ply + 1}: **{row['grade']}** (played {row['played']}; best "
            f"{row['best']}, ringed on the board; value {row['best value']:+.2f})"
        )
    st.dataframe(result.moves, hide_index=True, key="grades_table")


def viewer(run: data.Run, match_id: str, game_index: int) -> None:
    replay = None
    with ui.guard("Opening the game"):
        replay = data.replay(run, match_id, game_index)
    if replay is None:
        return
    result = "draw" if replay.winner < 0 else f"{ui.plain(replay.agents[replay.winner])} won"
    reason = f" ({ui.plain(replay.reason)})" if replay.reason else ""
    st.markdown(
        f"**{' vs '.join(map(ui.plain, replay.agents))}**: {result}, {replay.plies} plies, "
        f"{ui.plain(replay.termination)}{reason}; started "
        f"{replay.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    left, right, numbers = st.columns([1, 1, 3])
    playing = left.toggle("Autoplay", key="autoplay")
    numbers.toggle("Move numbers", key="move_numbers", help="Number each stone by its move.")
    speed = right.select_slider(
        "Autoplay speed",
        SPEEDS,
        value=0.5,
        format_func=lambda s: f"{s:g} s per move",
        key="autoplay_speed",
        label_visibility="collapsed",
    )
    st.fragment(stepper, run_every=speed if playing else None)(games.make(replay.game), replay)


def browse(run: data.Run, summary: Summary) -> None:
    """Filters, the listing, downloads, and the game picked from the listing."""
    flt = filters(summary)
    total = data.count_games(run, flt)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    count_column, page_column = st.columns([3, 1], vertical_alignment="bottom")
    count_column.markdown(f"**{total:,}** of {summary.games:,} games match, newest first.")
    if state.get("page", 1) > pages:
        state.page = 1
    page = 1
    if pages > 1:
        page = page_column.number_input(f"Page (of {pages:,})", 1, pages, key="page")
    table = data.list_games(run, flt, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    listing = table.to_pylist()
    state.listing_keys = [(row["match_id"], row["game_index"]) for row in listing]
    st.dataframe(
        table,
        hide_index=True,
        on_select=pick_listed_row,
        selection_mode="single-row",
        key="listing",
        height=280,
        column_config={"started_at": st.column_config.DatetimeColumn("started (UTC)")},
    )
    if not total:
        return
    downloads(run, flt, total)
    labels = {key: game_label(row) for key, row in zip(state.listing_keys, listing, strict=True)}
    if state.get("game") not in labels:
        state.game = state.listing_keys[0]
    chosen = st.selectbox("Game", list(labels), format_func=labels.__getitem__, key="game")
    if state.get("shown_game") != chosen:  # a new game starts at its first position
        state.shown_game, state.ply, state.autoplay = chosen, 0, False
    viewer(run, *chosen)


ui.setup("Replays")
run = ui.current_run()
st.title("Replays")
ui.run_caption(run)
if state.pop("stop_autoplay", False):
    state.autoplay = False  # before the toggle is drawn: it may only be set then

summary = None
with ui.guard("Reading the games"):
    summary = data.summary(run)
if summary is None:
    st.stop()
if summary.games == 0:
    st.info("No games are stored in this run yet.")
    st.stop()

with ui.guard("Listing the games"):
    browse(run, summary)
