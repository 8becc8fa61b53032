"""The hidden inputs' seed: each question draws its inputs from a generator of its own.

Both rooms regenerate the same draws from ``config.HIDDEN_INPUT_SEED``: the student room feeds them to
the student's functions, the clean room draws them again rather than trusting what the room wrote down.
Each problem's ``inputs.py`` holds its own draws.
"""

import zlib

import numpy as np

from .config import HIDDEN_INPUT_SEED


def rng(question: str) -> np.random.Generator:
    """A generator private to one question, so that adding a question changes no other's inputs."""
    return np.random.default_rng([HIDDEN_INPUT_SEED, zlib.crc32(question.encode())])
