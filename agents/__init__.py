"""Deciding moves: the Agent protocol, baselines, search, solvers, networks and checkpoints."""

from agents.base import Agent, sample_legal
from agents.spec import KINDS, make

__all__ = ["Agent", "KINDS", "make", "sample_legal"]
