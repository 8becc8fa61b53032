"""Gradescope's entry point, run by the zip's run_autograder: screen the upload, then grade with otter."""

import sys

sys.path.insert(0, "/autograder/source")

from hw1grader.run import gradescope  # noqa: E402

if __name__ == "__main__":
    gradescope("/autograder")
