"""Deciding moves: the Agent protocol, baselines, search, solvers, networks and checkpoints."""

from agents.base import Agent, random_step, sample_legal
from agents.spec import KINDS, make

__all__ = ["Agent", "KINDS", "make", "random_step", "sample_legal"]
