"""Tabular game theory on small games of imperfect information: the whole game tree as flat
arrays, tabular policies, CFR solvers and exact best responses (NashConv, exploitability)."""
