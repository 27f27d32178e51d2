"""Exceptions raised by `replays`, so callers can tell a bad file from a missing game."""


class ReplayError(Exception):
    """Base class of every error `replays` raises on purpose."""


class ReplayFormatError(ReplayError, ValueError):
    """A file in `replays/` is not a readable arena replay file (its path is in the message)."""


class GameNotFoundError(ReplayError, LookupError):
    """No stored game has the requested match id and game index."""


class DuplicateGamesWarning(UserWarning):
    """Some part files only repeat games stored in others: they are left out (named)."""
