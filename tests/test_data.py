import numpy as np
import pytest

from helpers.data import load_digits


def test_digits_shapes_and_dtypes():
    X_train, y_train, X_test, y_test = load_digits()
    assert X_train.shape == (1347, 64)
    assert X_test.shape == (450, 64)
    assert y_train.shape == (1347,)
    assert X_train.dtype == np.float64
    assert y_train.dtype == np.int64


def test_digits_scaled_to_unit_interval():
    X_train, _, X_test, _ = load_digits()
    assert X_train.min() == 0.0
    assert X_train.max() == 1.0
    assert X_test.min() >= 0.0
    assert X_test.max() <= 1.0


def test_digits_labels_are_ten_classes():
    _, y_train, _, y_test = load_digits()
    assert set(np.unique(y_train)) == set(range(10))
    assert set(np.unique(y_test)) == set(range(10))


def test_digits_split_is_stratified():
    _, y_train, _, y_test = load_digits()
    train_share = np.bincount(y_train) / len(y_train)
    test_share = np.bincount(y_test) / len(y_test)
    assert np.abs(train_share - test_share).max() < 0.01


def test_digits_split_is_seeded():
    first, second, other = load_digits(seed=3), load_digits(seed=3), load_digits(seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], other[0])


def test_digits_test_fraction_sets_size():
    _, y_train, _, y_test = load_digits(test_fraction=0.5)
    assert abs(len(y_test) - len(y_train)) <= 1


def test_digits_images_match_flat_rows():
    X_flat, _, X_test_flat, _ = load_digits()
    X_images, _, X_test_images, _ = load_digits(images=True)
    assert X_images.shape == (1347, 1, 8, 8)
    assert X_test_images.shape == (450, 1, 8, 8)
    np.testing.assert_array_equal(X_images.reshape(len(X_images), -1), X_flat)


def test_digits_reject_bad_test_fraction():
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="test_fraction"):
            load_digits(test_fraction=bad)
    with pytest.raises(TypeError, match="test_fraction"):
        load_digits(test_fraction="0.25")


def test_digits_reject_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        load_digits(seed=-1)
