"""Every number that shapes grading, in one place (README: "Change a point value or a threshold")."""

# Seed of the hidden inputs (hw1grader.inputs). Change it between terms so that values seen in one
# term's autograder cannot be replayed in the next.
HIDDEN_INPUT_SEED = 20230929

# Tolerances of value checks: a correct answer computed in float64 meets them by orders of magnitude.
RTOL = 1e-6
ATOL = 1e-9

# Problem 3(a): every data point must be fit this closely.
FIT_ATOL = 1e-6

# The student room: limits on one submission's run (seconds).
CELL_TIMEOUT = 420
NOTEBOOK_TIMEOUT = 480
PROBE_TIMEOUT = 60
