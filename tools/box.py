"""The Gradescope box this package asks for: one number, in one place.

The README's recommendation ("Gradescope"), the memory limit the Gradescope-shaped tests grade under
(tests/test_gradescope_run.py) and `make bench` (which derives the box from what it measures and says
whether it still is this one) all read BOX from here.

Gradescope's autograder settings offer a few boxes (CPUs, RAM). Their "GB" are taken here as GiB, as
Docker reads a memory limit ("768MB", the default box, is 3/4 of a GiB, and each box doubles it).
"""

# Gradescope's boxes, smallest first: (CPUs, RAM in MiB)
GRADESCOPE_BOXES = ((0.5, 768), (1.0, 1536), (2.0, 3072), (4.0, 6144))

# The box to pick (README, "Gradescope"). bench.py derives it; change it only with what bench says.
BOX = (2.0, 3072)

# What the derivation adds to the memory a grade can reach, for what no measurement here sees: another
# build of torch (Gradescope installs the CPU build), page tables, a slower day's larger caches.
HEADROOM = 0.10


def memory_bytes(box=BOX):
    """The box's RAM in bytes: the memory limit the Gradescope-shaped tests grade under."""
    return box[1] << 20


def label(box=BOX):
    """How Gradescope's settings name the box, e.g. '2.0 CPU, 3.0 GB RAM'."""
    cpus, mib = box
    ram = f"{mib} MB" if mib < 1024 else f"{mib / 1024:.1f} GB"
    return f"{cpus:.1f} CPU, {ram} RAM"


def needed_mb(grade_peak_mb, room_cap_mb, grader_mb):
    """The memory one grade can reach, in MiB, with HEADROOM added.

    grade_peak_mb: peak RSS of the whole process tree grading the reference (measured);
    room_cap_mb: what the student room may hold with all its processes together before it is stopped
    (config.ROOM_MEMORY_MB: counted as PSS, so with its mapped libraries, memfds and /dev/shm files);
    grader_mb: peak RSS of everything in the grade but the student room (the grader, otter; measured).
    The judge runs before the room, within its own cap (config.JUDGE_MEMORY_MB), far below the room's.
    A submission that fills the room's cap while the grader holds its own peak is the worst case.
    """
    worst = max(grade_peak_mb, room_cap_mb + grader_mb)
    return worst * (1 + HEADROOM)


def smallest_box(mb):
    """The smallest of Gradescope's boxes with at least mb MiB (None when none is large enough)."""
    return next((box for box in GRADESCOPE_BOXES if box[1] >= mb), None)
