"""The hidden inputs' seed: each question draws its inputs from a generator of its own.

The seed of a grade is derived from the term's secret (``config.HIDDEN_INPUT_SEED``, which only the
grader holds: the rooms' copy of config.py does not have it) and from the submitted code, so the hidden
inputs are the same at every regrade of a submission and unknown before it is submitted: no answer can
be worked out in advance for them. The grader derives it (``seed_for``) and hands it to the rooms in
``HW1_HIDDEN_SEED``; the clean room draws the same inputs again rather than trusting what the rooms
wrote down. Each problem's ``inputs.py`` holds its own draws.
"""

import hashlib
import json
import os
import zlib

import numpy as np

ENV = "HW1_HIDDEN_SEED"
SEED = int(os.environ.get(ENV, "0"))  # this process's seed: the rooms get theirs from the grader


def seed_for(code_cells, secret):
    """The seed of a grade: a hash of the term's secret and of the submitted code cells."""
    digest = hashlib.sha256(f"{secret}\n".encode() + json.dumps(list(code_cells)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def use_seed(seed):
    """Draw this process's hidden inputs from seed (the grader, once it has read the submission)."""
    global SEED
    SEED = int(seed)


def rng(question: str) -> np.random.Generator:
    """A generator private to one question, so that adding a question changes no other's inputs."""
    return np.random.default_rng([SEED, zlib.crc32(question.encode())])
