"""The catalogue of submissions the autograder must grade right.

WRONG: for each autograded question, a plausible wrong answer; the submission holding it (and the
reference everywhere else) must lose exactly that question's points.
RIGHT: correct answers written differently from the reference; they must score full marks.
Each entry maps a name the student defines to the code of the answer cell that defines it.
"""

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


# Problems 4 and 5 keep their entries in their own modules.
from catalogue_p4 import RIGHT as RIGHT_P4, WRONG as WRONG_P4  # noqa: E402
from catalogue_p5 import RIGHT as RIGHT_P5, WRONG as WRONG_P5  # noqa: E402

WRONG = {**WRONG, **WRONG_P4, **WRONG_P5}
RIGHT = {**RIGHT, **RIGHT_P4, **RIGHT_P5}
