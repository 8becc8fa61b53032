"""Reading the submitted code for automatic differentiation: an explanation, never a verdict.

Problem 5's functions are graded in the judge (``judge.py``), where torch and every other automatic
differentiation library do not exist, so code that relies on one simply fails there. When it does, the
clean room reads the submitted definitions (``definitions.needed``) to tell the student why: the
function, or a notebook-level name it uses, imports or calls an autodiff library. The policy is pinned
by tests/test_autodiff.py: what is reported (autodiff libraries, reached however they are named, and
their gradient attributes) and what is not (sys, getattr, print(file=...), NumPy, SciPy, math).
"""

import ast

from ...definitions import chain, needed

# libraries that differentiate automatically (torchvision imports torch)
LIBRARIES = {"torch", "torchvision", "functorch", "jax", "jaxlib", "autograd", "tensorflow", "keras", "mxnet",
             "tinygrad", "micrograd", "theano", "paddle", "mlx", "chainer"}
# what asks for a gradient on a tensor, or for a function transform
GRADIENT_ATTRIBUTES = {"backward", "grad", "requires_grad", "requires_grad_", "grad_fn", "autograd", "vjp", "jvp",
                       "jacrev", "jacfwd", "value_and_grad", "GradientTape"}


def found_in(node):
    """What in one statement reaches automatic differentiation, or None."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            modules = [sub.module or ""] if isinstance(sub, ast.ImportFrom) else [a.name for a in sub.names]
            for module in modules:
                if module.split(".")[0] in LIBRARIES:
                    return f"imports `{module}`"
        elif isinstance(sub, ast.Name) and sub.id in LIBRARIES:
            return f"uses `{sub.id}`"
        elif isinstance(sub, ast.Attribute) and sub.attr in GRADIENT_ATTRIBUTES:
            return f"uses `.{sub.attr}`"
    return None


def uses(code_cells, roots):
    """A sentence on how a function of `roots`, or a notebook-level name it uses, reaches automatic
    differentiation; None if none does (as far as the code can be read)."""
    chosen, parent = needed(code_cells, roots)
    for statement in chosen:
        found = found_in(statement.node)
        if found:
            name = next((n for n in sorted(statement.binds) if n in parent), sorted(statement.binds)[0])
            path = chain(parent, name)
            via = "".join(f" uses `{n}`, which" for n in path[1:])
            return f"`{path[0]}`{via} {found}"
    return None
