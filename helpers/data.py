"""Small real datasets that ship with installed packages (introduced in 02, used in 03).

Nothing here downloads: scikit-learn installs the 8x8 handwritten digits
(1797 images of the digits 0 to 9, from the UCI "Optical Recognition of
Handwritten Digits" data set) together with the library.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.datasets import load_digits as sklearn_load_digits
from sklearn.model_selection import train_test_split

# The digits' pixels are integers from 0 to 16.
DIGITS_MAX_PIXEL = 16.0


def load_digits(
    test_fraction: float = 0.25, seed: int = 0, images: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load scikit-learn's 8x8 digits as ``(X_train, y_train, X_test, y_test)``.

    Features are float64 pixels divided by 16, so they lie in [0, 1], shaped
    ``(n, 64)``, or ``(n, 1, 8, 8)`` (channels first, as PyTorch's Conv2d
    expects) when ``images=True``. Labels are int64 digits 0 to 9. The split
    is stratified, so train and test keep the class proportions, and ``seed``
    fixes it.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
        raise TypeError(f"test_fraction must be a float in (0, 1), got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction must be in (0, 1), got {test_fraction!r}; pass for example 0.25 for a quarter of the data"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    if not 0 <= seed < 2**32:  # the range scikit-learn accepts for random_state
        raise ValueError(f"seed must be in [0, 2**32), got {seed!r}")
    if not isinstance(images, (bool, np.bool_)):
        raise TypeError(f"images must be True or False, got {images!r}")

    digits = sklearn_load_digits()
    X = digits.data.astype(np.float64) / DIGITS_MAX_PIXEL  # (1797, 64)
    y = digits.target.astype(np.int64)
    num_test = math.ceil(test_fraction * len(y))  # how train_test_split rounds
    num_classes = len(np.unique(y))
    if min(num_test, len(y) - num_test) < num_classes:
        raise ValueError(
            f"test_fraction={test_fraction!r} leaves {num_test} of {len(y)} examples for testing; a stratified split "
            f"needs at least {num_classes} in each part, so pass a value from about 0.01 to 0.99"
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, random_state=int(seed), stratify=y
    )
    if images:
        X_train = X_train.reshape(-1, 1, 8, 8)  # (n, channels, height, width)
        X_test = X_test.reshape(-1, 1, 8, 8)
    return X_train, y_train, X_test, y_test
