"""The catalogue of submissions the autograder must grade right: one manifest, graded by one test.

Each entry is a submission made from the student release (``submissions.make``: every answer cell
filled with the reference's, then the cells that define the names in ``overrides`` replaced) and the
set of questions it must lose; every other autograded question must get full marks. So each wrong
answer is shown to lose exactly its own question's points, and each correct variant none.

A grade costs a whole notebook run, so wrong answers beyond the first of each question are graded
together, one per question in a submission (``together``): each such submission must lose exactly the
questions it answers wrongly. That each wrong answer costs no other question is shown by the first
ones, graded alone.

Training Problem 4's network is the slow part of a grade, so entries that are not about Problem 4 are
made on the *light* base: the reference with Problem 4 trained for zero epochs, which loses exactly
``LIGHT_LOSES`` (the light base is itself an entry, so that is checked too).
"""

from dataclasses import dataclass, field

from submissions import GIVEN

from catalogue_attacks import ATTACKS, FORGED, NON_FINITE, PRECOMPUTED, TYPED_CURVES, UNTRAINED_CURVES, WALLS_ONLY
from catalogue_p4 import (BEST_EPOCH_KEPT, FOUR_EPOCHS, MORE_WRONG as MORE_WRONG_P4, NORMALISED_INSIDE, RIGHT as RIGHT_P4,
                          SOFTMAX_TWICE, SQUARED_INSIDE, WRONG as WRONG_P4)
from catalogue_p5 import (ALONE as ALONE_P5, E2E as E2E_P5, MORE_WRONG as MORE_WRONG_P5, RIGHT as RIGHT_P5,
                          WRONG as WRONG_P5)


@dataclass(frozen=True)
class Entry:
    overrides: dict
    loses: frozenset = frozenset()
    light: bool = True  # made on the light base (and so also loses LIGHT_LOSES)
    says: dict = field(default_factory=dict)  # {question: what its message must say}
    # graded end to end by test_grading.py; every light entry is graded by the fast layer too, and a trained
    # entry that is not graded end to end is graded without the walls (inprocess.Whole)
    e2e: bool = True


# The light base: Problem 4 trained for 0 epochs, and the release's own demonstration of Problem 5 (a
# training run that grading does not read) for 1 epoch instead of 5
LIGHT = {"n_epochs": "n_epochs = 0\ntrain_losses, test_losses = [], []\n", GIVEN: {"epochs=5, lr=0.5": "epochs=1, lr=0.5"}}
LIGHT_LOSES = frozenset({"q4_curves", "q4_accuracy"})

WRONG = {
    "q1_grad": {"grad_sq_norm": "def grad_sq_norm(x):\n    return np.asarray(x, dtype=float)  # forgot the factor 2\n"},
    "q1_mu": {"best_mu": "def best_mu(X):\n    return np.median(X, axis=0)  # the l1 minimiser, not the l2 one\n"},
    "q2_l1_loss": {"l1_loss": "def l1_loss(X, y, w):\n    return float(((y - X @ w) ** 2).sum())  # squared, not absolute\n"},
    # almost right: every point but off by 1e-3
    "q3a_1": {"theta_dataset1": 'theta_dataset1 = {"W_H": [1, -1, 0, 0], "b_H": [-4, 4, 0, 0], "W_O": [2, 2, 0, 0], "b_O": 0.001}\n'},
    # two kinks fitted, the third (at x = 5) missing
    "q3a_2": {"theta_dataset2": 'theta_dataset2 = {"W_H": [1, 1, 0, 0], "b_H": [0, -3, 0, 0], "W_O": [1, -2, 0, 0], "b_O": 0}\n'},
    "q3b": {"squared_loss_grad": "def squared_loss_grad(ys, f_values, f_grads):\n"
                                 "    return 2 * (ys - f_values) @ f_grads  # sign lost in the chain rule\n"},
    "q3c": {"f_x2": "f_x2 = -4.0  # output bias forgotten\n"},
    # d f / d W_H without the factor x
    "q3d": {"grad_f_x2": 'grad_f_x2 = {"W_H": [0, -1, -1, 0], "b_H": [0, -1, -1, 0], "W_O": [0, 3, 1, 0], "b_O": 1}\n'},
}

RIGHT = {
    # tqdm in the training cell (it is in the grading image, as on Colab)
    "tqdm_in_problem_4": {"n_epochs": "from tqdm.notebook import tqdm\n\nn_epochs = 0\ntrain_losses, test_losses = [], []\n"
                                      "for epoch in tqdm(range(n_epochs)):\n    pass\n"},
    "p1_p2_other_forms": {
        "grad_sq_norm": "def grad_sq_norm(x):\n    return [2 * xi for xi in x]  # a list is fine\n",
        "best_mu": "def best_mu(X):\n    return torch.tensor(X).sum(0) / len(X)  # so is a tensor\n",
        "l1_loss": "def l1_loss(X, y, w):\n    return np.linalg.norm(y - X @ w, ord=1)\n",
    },
    "p3_other_constructions": {
        # other units, other scalings: any network through every point is right
        "theta_dataset1": 'theta_dataset1 = {"W_H": [0, 0, 0.5, -0.5], "b_H": [0, 0, -2, 2], "W_O": [0, 0, 4, 4], "b_O": 0}\n',
        "theta_dataset2": 'theta_dataset2 = {"W_H": np.array([0, 2, 1, 1]), "b_H": np.array([0, 0, -3, -5]), '
                          '"W_O": np.array([0, 0.5, -2, 1.5]), "b_O": np.float64(0)}\n',
        "squared_loss_grad": "def squared_loss_grad(ys, f_values, f_grads):\n"
                             "    return sum(-2 * (y - f) * g for y, f, g in zip(ys, f_values, f_grads))\n",
        "f_x2": "f_x2 = -3  # an int is a number too\n",
        "grad_f_x2": 'grad_f_x2 = {"W_H": np.array([0., -2, -2, 0]), "b_H": (0, -1, -1, 0), "W_O": [0, 3, 1, 0], "b_O": 1.0}\n',
    },
}


# answers that reproduce what the public tests see instead of computing: the hidden inputs differ
HARDCODED = {
    "q1_grad": {"grad_sq_norm": "def grad_sq_norm(x):\n    return np.array([1.0, -2.0, 4.0])[: len(x)]\n"},
    "q2_l1_loss": {"l1_loss": "def l1_loss(X, y, w):\n    return 10.0 if len(y) == 5 else 1.0\n"},
    "q3b": {"squared_loss_grad": "def squared_loss_grad(ys, f_values, f_grads):\n    return np.full(13, 6.0 * len(ys))\n"},
}

# values of another type: numbers in any container are accepted; a string is graded, not a crash
RIGHT_TYPES = {"f_x2": "f_x2 = torch.tensor(-3.0)\n", "best_mu": "def best_mu(X):\n    return list(np.mean(X, axis=0))\n"}
STRINGS = {
    "q3c": {"f_x2": 'f_x2 = "-3"\n'},
    "q1_grad": {"grad_sq_norm": 'def grad_sq_norm(x):\n    return "2x"\n'},
    "q3a_1": {"theta_dataset1": 'theta_dataset1 = "W_H = [1, -1, 0, 0]"\n'},
}


# right answers graded end to end too: tqdm.notebook's progress bar in a real kernel; the others are the
# fast layer's, and the independent students write many more
RIGHT_E2E = {"tqdm_in_problem_4"}
# the entries that train Problem 4 graded end to end: a wrong architecture (its accuracy kept) and wrong
# curves; the others without the walls
TRAINED_E2E = {"wrong_q4_model", "wrong_q4_curves"}


def together(wrong_answers, light=True, e2e=True):
    """One Entry of (question, overrides) pairs, at most one per question: it loses those questions."""
    overrides, questions = {}, [question for question, _ in wrong_answers]
    assert len(set(questions)) == len(questions), f"two wrong answers to one question: {questions}"
    for _, answer in wrong_answers:
        assert not set(answer) & set(overrides), f"two answers replace the cell of {set(answer) & set(overrides)}"
        overrides.update(answer)
    return Entry(overrides, frozenset(questions), light, e2e=e2e)


def in_sets(wrong_answers, light=True, e2e=True):
    """(question, overrides) pairs into as few Entries as can hold them (the k-th answer of each question
    in the k-th)."""
    sets = []
    for question, overrides in wrong_answers:
        free = next((s for s in sets if question not in dict(s)), None)
        if free is None:
            sets.append(free := [])
        free.append((question, overrides))
    return [together(s, light, e2e) for s in sets]


def entries():
    """{label: Entry}: the whole manifest."""
    catalogue = {"light_base": Entry({})}
    # the first wrong answer of each question, alone: in the fast layer (the independent students make the
    # same mistakes), and Problem 4's trained (TRAINED_E2E end to end)
    for question, overrides in {**WRONG, **WRONG_P5}.items():
        catalogue[f"wrong_{question}"] = Entry(overrides, frozenset({question}), e2e=False)
    for question, overrides in WRONG_P4.items():
        catalogue[f"wrong_{question}"] = Entry({**FOUR_EPOCHS, **overrides}, frozenset({question}), light=False,
                                               e2e=f"wrong_{question}" in TRAINED_E2E)
    # more wrong answers of Problem 5, and the attacks, in the fast layer; the SGD rows of issue 12 alone
    # (one end to end too), and one set of non-finite answers end to end
    for i, entry in enumerate(in_sets([(q, o) for q, label, o in MORE_WRONG_P5 if label not in ALONE_P5], e2e=False), 1):
        catalogue[f"more_wrong_p5_{i}"] = entry
    for label in sorted(ALONE_P5):
        (question, overrides), = [(q, o) for q, l, o in MORE_WRONG_P5 if l == label]
        catalogue["sgd_" + label.replace(" ", "_").replace(",", "")] = Entry(overrides, frozenset({question}),
                                                                             e2e=label in E2E_P5)
    for i, entry in enumerate(in_sets([(q, o) for q, label, o in ATTACKS if label not in WALLS_ONLY], e2e=False), 1):
        catalogue[f"attacks_{i}"] = entry
    catalogue["non_finite"] = together([(q, o) for q, _, o in NON_FINITE])
    catalogue["precomputed_answers"] = Entry(PRECOMPUTED, frozenset({"q1_grad"}), e2e=False)
    catalogue["forged_transcripts"] = Entry(FORGED, frozenset({"q5_network_backward", "q5_training"}))
    catalogue["typed_curves"] = Entry(TYPED_CURVES, says={"q4_curves": "not the loss of the trained `model`"}, e2e=False)
    catalogue["untrained_curves"] = Entry(UNTRAINED_CURVES, says={"q4_curves": "has not learnt"}, e2e=False)
    for i, entry in enumerate(in_sets([(q, o) for q, _, o in MORE_WRONG_P4], light=False, e2e=False), 1):  # trains 4 epochs
        catalogue[f"more_wrong_p4_{i}"] = entry
    catalogue["best_epoch_kept"] = Entry(BEST_EPOCH_KEPT, frozenset({"q4_accuracy"}), light=False, e2e=False)
    catalogue["softmax_twice"] = Entry(SOFTMAX_TWICE, frozenset({"q4_model", "q4_accuracy"}), light=False,
                                       says={"q4_model": "applied twice"}, e2e=False)
    catalogue["normalised_inside"] = Entry(NORMALISED_INSIDE, e2e=False)
    catalogue["squared_inside"] = Entry(SQUARED_INSIDE, frozenset({"q4_model"}), says={"q4_model": "normalisation"}, e2e=False)
    catalogue["hardcoded"] = together(HARDCODED.items(), e2e=False)
    for label, overrides in {**RIGHT, **RIGHT_P5}.items():
        catalogue[f"right_{label}"] = Entry(overrides, e2e=label in RIGHT_E2E)
    for label, overrides in RIGHT_P4.items():
        catalogue[f"right_{label}"] = Entry(overrides, light=False, e2e=False)
    catalogue["types_numbers"] = Entry(RIGHT_TYPES, e2e=False)
    catalogue["types_strings"] = together(STRINGS.items(), e2e=False)
    return catalogue


CATALOGUE = entries()
