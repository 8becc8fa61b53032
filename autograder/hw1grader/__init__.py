"""Grading for Homework 1, in two rooms.

The *student room* (``student_room``, ``probes``) runs a submission's notebook and writes down, as
plain numbers, what its answers are and what its functions return on hidden inputs. It runs the
student's code, so it decides nothing and knows no answer.

The *clean room* (``checks``) reads those numbers back with loaders that cannot run code, regenerates
the hidden inputs itself (``inputs``) and decides every point. It never imports student code.

``plugin`` is the otter plugin that joins the two to ``otter run`` and Gradescope.
"""
