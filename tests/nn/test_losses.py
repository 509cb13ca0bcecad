"""classification_loss: the one CE/BCE choice, against hand-worked values."""

import math

import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.nn.losses import classification_loss


def test_integer_labels_give_cross_entropy():
    logits = torch.tensor([[0.0, math.log(3.0)], [math.log(2.0), 0.0]])
    # softmax rows: [1/4, 3/4] and [2/3, 1/3]; true classes 1 and 1 -> -(log 3/4 + log 1/3) / 2
    want = -(math.log(0.75) + math.log(1 / 3)) / 2
    assert classification_loss(logits, torch.tensor([1, 1])).item() == pytest.approx(want, rel=1e-6)


def test_float_multi_hot_labels_give_binary_cross_entropy():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # sigmoids 1/2 and 3/4
    y = torch.tensor([[1.0, 0.0]])
    want = -(math.log(0.5) + math.log(0.25)) / 2
    assert classification_loss(logits, y).item() == pytest.approx(want, rel=1e-6)


def test_other_label_shapes_are_refused():
    with pytest.raises(ConfigError, match=r"expected class indices \(B,\)"):
        classification_loss(torch.zeros(2, 3), torch.zeros(2, 2, dtype=torch.long))
