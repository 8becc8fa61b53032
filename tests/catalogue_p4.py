"""Problem 4's entries of the catalogue (see catalogue.py)."""

WRONG = {}
RIGHT = {}
