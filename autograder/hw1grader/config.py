"""Every number that shapes grading, in one place (README: "Change a point value or a threshold")."""

import os

# The term's secret, from which each grade's hidden inputs are drawn (inputs.seed_for: with the
# submitted code). Change it between terms. Only the grader holds it: the copy of this file that
# submitted code runs next to has it removed (sandbox.room_library).
HIDDEN_INPUT_SEED = 20230929

# Tolerances of value checks: a correct answer computed in float64 meets them by orders of magnitude.
RTOL = 1e-6
ATOL = 1e-9

# Problem 3(a): every data point must be fit this closely.
FIT_ATOL = 1e-6

# Problem 4: the network the homework asks for, and how it is judged (checks_p4).
ARCHITECTURE = [784, 256, 128, 64, 10]  # layer sizes
MIN_ACCURACY = 0.85  # of the rebuilt model on the 10,000 test images; the reference reaches about 0.88
REPORT_ATOL = 0.005  # how far the student's own test_accuracy may be from it (float32 vs float64, ties)
# A model trained on the training set classifies its training images at least about as well as the test
# images (the reference: 91% against 88%; after 2 epochs, within 1%). Better on the test images by more
# than this, it has learnt from them (their labels are in the student's folder): q4_accuracy is lost.
MAX_TEST_ADVANTAGE = 0.03
# The student's model usually computes in float32, the rebuild in float64: outputs agree to ~1e-5;
# a wrong activation or layer order is off by far more.
OUTPUT_RTOL = 1e-3
OUTPUT_ATOL = 1e-3
PROBA_ATOL = 1e-4  # probabilities: against the model's own, and their sum against 1
# The last of `test_losses` must be the loss of the trained model on the test set, as the clean room
# computes it from the rebuilt model (the mean, or the sum, over the 10,000 images). Allowed: float32
# against float64, and a mean of batch means (a shorter last batch moves it by ~1e-3). Not allowed: the
# loss on the training set (more than 5% lower than the test loss, even after 2 epochs) or of another
# epoch's model.
TEST_LOSS_RTOL = 0.02
TEST_LOSS_ATOL = 2e-3
# The mean of per-batch means is off the whole set's mean by up to 6% where the last batch is smaller
# (10,000 images in batches of 256 leave 16: PyTorch's own tutorial averages batch means so). For these
# batch sizes, over the test set in its order, the clean room computes that value too, and accepts it
# within BATCH_MEANS_RTOL (float32 against float64).
BATCH_SIZES = (16, 30, 32, 48, 60, 64, 96, 128, 150, 192, 256, 300, 384, 512, 600, 768, 1024, 2048, 3000, 4096, 6000,
               8192)
BATCH_MEANS_RTOL = 1e-3
# q4_curves: the curves are those of a training run only if the final model learnt something. An untrained
# network classifies about 10% of the test images correctly (chance); the reference 88%, and even a slow
# start (one epoch of plain SGD at a small learning rate) well above this.
MIN_TRAINED_ACCURACY = 0.3
# The clean room runs the rebuilt model on 20,000 images in the grader's own process: a model of more
# parameters than this is refused before any of that work (the homework's has 242,762; 784-1024-512-256-10,
# 1.5 million, is still evaluated), and it runs EVALUATION_BATCH images at a time, so that its memory is
# bounded by the model's size, not by the number of images.
MAX_MODEL_PARAMETERS = 3_000_000
EVALUATION_BATCH = 500

# Problem 5: gradients against the exact ones and central finite differences (checks_p5).
# A correct float64 answer is within rounding of the exact gradient: worst rel_error measured (against
# torch autograd) over 1000 hidden-input seeds, 2e-11 for a layer (looped or vectorised), 4e-10 for the
# whole network. The least wrong answers measured (a sigmoid derivative missing its factor, a
# mis-scaled gradient) are off by more than 1e-2.
TOL_EXACT = 1e-6
# Finite differences add rounding and truncation error (worst measured: 2e-6, an affine gradient entry
# near zero), so the same answers are compared with them more loosely.
TOL_FD = 1e-4
FD_STEP = 1e-5
# q5_training: test accuracy after the hidden run (problems/p5/inputs.py: 3 epochs on 10,000 images).
# Measured over 9 draws of subset and initialisation (this seed's and 8 others): the reference reaches
# 68.3% to 79.7% (75% on average; 70.2% with this seed), a correct sgd_train that shuffles with
# np.random instead reaches 71.5% to 79.9%; chance is 10%. The SGD steps themselves are checked exactly
# (problems/p5/checks.py, loop_error): this bar only confirms that training learns.
MIN_ACCURACY_P5 = 0.60

# Time. A grade must end within Gradescope's timeout, GRADE_TIME_LIMIT (the autograder setting: keep them
# equal). It is one deadline for the whole grade: the judge runs first (at most JUDGE_TIMEOUT), then
# the student room, which gets what is left, at most NOTEBOOK_TIMEOUT; GRADE_RESERVE is kept for otter,
# the clean room and the results. In the room, the recording of answers after the last cell keeps
# RECORD_RESERVE; a cell still running when the time is spent is interrupted, and the cells after it
# are not run. The environment variables exist for the tests, which check these limits without
# waiting minutes.
GRADE_TIME_LIMIT = int(os.environ.get("HW1_GRADE_TIME_LIMIT", 600))
GRADE_RESERVE = 45
NOTEBOOK_TIMEOUT = int(os.environ.get("HW1_NOTEBOOK_TIMEOUT", 420))
RECORD_RESERVE = int(os.environ.get("HW1_RECORD_RESERVE", 60))
# What a room leaves (its folders; in mode uid, its user's files in /tmp and the like) is removed within
# this many seconds, from GRADE_RESERVE: a submission that made a million files would otherwise keep the
# results waiting for minutes. What is left then is removed after the results are written (make grade,
# the regrade), or with the container (Gradescope).
CLEANUP_SECONDS = 15
# The room may take this long to start and to stop beyond its time before it is killed (a notebook
# that ignores interrupts is stopped this way).
ROOM_GRACE = int(os.environ.get("HW1_ROOM_GRACE", 30))
# One question's probe on the hidden inputs: an honest answer takes milliseconds; one that differentiates
# numerically (a forward pass per parameter) runs past it on the large inputs (problems/p5/inputs.py).
# q5_training's probe, which trains the student's network, gets TRAINING_PROBE_TIMEOUT.
PROBE_TIMEOUT = int(os.environ.get("HW1_PROBE_TIMEOUT", 10))
TRAINING_PROBE_TIMEOUT = 90
# Memory one process of the student room may allocate (RLIMIT_DATA): past it, allocations fail with
# MemoryError in the student's cell, and the rest of the notebook still runs.
MEMORY_LIMIT_MB = int(os.environ.get("HW1_MEMORY_LIMIT_MB", 1792))
# Threads torch and NumPy may use in the student room: Gradescope's default box has half a CPU, and on
# a shared 2-core machine two threads per kernel made Problem 4's training 20 times slower, not faster.
ROOM_THREADS = 1


def thread_env():
    """The environment variables that hold torch and NumPy to ROOM_THREADS threads."""
    return dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), str(ROOM_THREADS))

# The folder of the room's library (beside hw1grader/) with the grader's lists of the machine's fonts,
# which the room hands to matplotlib (sandbox.font_lists, student_room.start_with_font_lists)
FONT_LISTS = "font-lists"  # not a name Python could import

# The student room as a whole, all its processes together: how many it may run (a fork bomb stops
# there; threads count), and how much memory they may hold (past it, the room is ended and the
# questions not yet recorded score 0). The room's own process, its Python kernel with torch and the
# homework's data take about 1.3 GB with the CPU build of torch (BENCHMARKS.md); each process may
# still allocate MEMORY_LIMIT_MB.
ROOM_PROCESSES = 512
ROOM_MEMORY_MB = int(os.environ.get("HW1_ROOM_MEMORY_MB", 2560))
# Files: one file of the room may hold ROOM_FILE_MB (RLIMIT_FSIZE: FashionMNIST's largest is 47 MB), its
# /tmp (bwrap: a tmpfs, which is memory) ROOM_TMP_MB, and it is stopped when its disk has less than
# ROOM_DISK_RESERVE_MB left, so that the results can still be written.
ROOM_FILE_MB = 1024
ROOM_TMP_MB = 512
ROOM_DISK_RESERVE_MB = 512
# The judge (Problem 5's functions, from the submitted code, without torch): its whole run (the hidden
# training takes a few seconds), and the memory of its one process (it needs about 300 MB).
JUDGE_TIMEOUT = int(os.environ.get("HW1_JUDGE_TIMEOUT", 120))
JUDGE_MEMORY_MB = 1024

# Whether students see the clean room's verdicts (one sentence per question: what is wrong, never the
# expected value) as soon as their submission is graded (True), or only when grades are published
# (False; they then see their public tests' results only). At once, a student losing points learns
# why while there is time to fix it; the price is that a student can resubmit until a question passes.
# The hidden inputs are seeded draws and the messages give no value away, so searching for an answer
# that way costs more than doing the work (README: "What students see").
SHOW_VERDICTS = True
