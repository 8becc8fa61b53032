"""Grading for Homework 1, in two rooms and a judge.

The *student room* (``student_room``) runs a submission's notebook and writes down, as plain numbers,
what its answers are and what its functions return on hidden inputs (each problem's ``probes.py``). It
runs the student's code, so it decides nothing and knows no answer. The *judge* (``judge``) does the
same for Problem 5 from the submitted code alone, where automatic differentiation does not exist.

The *clean room* (``checking`` and each problem's ``checks.py``) reads those numbers back with loaders
that cannot run code, regenerates the hidden inputs itself (each problem's ``inputs.py``) and decides
every point. It never imports student code.

``problems`` lists the problems, each in a folder of its own; ``sandbox`` builds the walls, ``rooms``
runs code behind them, and ``plugin`` is the otter plugin that joins it all to ``otter run`` and
Gradescope. ``intake`` and ``run`` turn an upload into a gradable notebook first.
"""
