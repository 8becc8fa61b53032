"""Problem 5's entries of the catalogue (see catalogue.py)."""

WRONG = {}
RIGHT = {}
