"""Problem 4's hidden images: seeded picks from the test set plus noise (no expected value here).

Both rooms apply the same picks to their own copy of the 10,000 test images: the student room to the
copy the notebook loaded (``TEST_IMAGES_FILE``), the clean room to the original (``fmnist``).
"""

import numpy as np

from ...inputs import rng

MODEL_TEST_IMAGES = 200  # seeded picks from the 10,000 test images the model is run on
MODEL_NOISE_IMAGES = 56  # uniform noise in [0, 1]: inputs unlike any training image
PROBA_TEST_IMAGES = 5  # the images predict_proba is given
PROBA_NOISE_IMAGES = 2  # and one blank (all-zero) image
PROBA_KINDS = ["a test image"] * PROBA_TEST_IMAGES + ["a noise image"] * PROBA_NOISE_IMAGES + ["a blank image"]

# The test images the notebook itself loaded: torchvision keeps them under root/FashionMNIST/raw, and
# the homework's root is ./FashionMNIST/ (fmnist.NOTEBOOK_ROOT). Altering this file only makes the
# model's recorded outputs disagree with the clean room's own copy of the test set.
TEST_IMAGES_FILE = "FashionMNIST/FashionMNIST/raw/t10k-images-idx3-ubyte"


def model_images(test_images):
    """(N, 784) float64 images in [0, 1] the model is run on, from the (10000, 784) test images."""
    r = rng("q4_model")
    picks = r.choice(len(test_images), size=MODEL_TEST_IMAGES, replace=False)
    return np.concatenate([test_images[picks], r.uniform(size=(MODEL_NOISE_IMAGES, 784))])


def proba_images(test_images):
    """(N, 784) float64 images predict_proba is given: test images, noise, and a blank image last."""
    r = rng("q4_predict_proba")
    picks = r.choice(len(test_images), size=PROBA_TEST_IMAGES, replace=False)
    return np.concatenate([test_images[picks], r.uniform(size=(PROBA_NOISE_IMAGES, 784)), np.zeros((1, 784))])
