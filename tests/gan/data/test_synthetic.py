"""Synthetic dataset helpers: balanced labels over chosen classes, class folders that sort in class order, PNGs."""
import io

import pytest
import torch
from PIL import Image

from gan.data.synthetic import balanced_labels, folder_names, parse_classes, png_bytes
from gan.errors import ConfigError


def test_labels_are_balanced_over_the_chosen_classes():
    y = balanced_labels(10, 5, [4, 1])
    assert torch.bincount(y, minlength=5).tolist() == [0, 5, 0, 0, 5]
    assert torch.bincount(balanced_labels(25, 5)).tolist() == [5] * 5
    with pytest.raises(ConfigError, match="not among"):
        balanced_labels(4, 5, [5])


def test_folder_names_sort_in_class_order_past_ten_classes():
    names = folder_names(12)
    assert sorted(names) == names and names[2] == "02" and names[11] == "11"


def test_parse_classes_and_png_bytes():
    assert parse_classes(" 3, 0 ,7") == [3, 0, 7] and parse_classes("") is None
    img = torch.linspace(-1, 1, 3 * 4 * 5).reshape(3, 4, 5)
    back = Image.open(io.BytesIO(png_bytes(img)))
    assert back.mode == "RGB" and back.size == (5, 4)
    assert Image.open(io.BytesIO(png_bytes(img[:1]))).mode == "L"
