"""One environment: lm-eval, lmms-eval and math-verify import together; torchvision and decord work."""

from __future__ import annotations

import importlib


def test_harnesses_and_math_verify_import_together():
    lm_eval = importlib.import_module("lm_eval")
    lmms_eval = importlib.import_module("lmms_eval")
    math_verify = importlib.import_module("math_verify")
    assert lm_eval.__name__ and lmms_eval.__name__
    assert math_verify.verify(math_verify.parse("$\\frac{1}{2}$"), math_verify.parse("$0.5$"))


def test_torchvision_ops_and_decord():
    import torch
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    importlib.import_module("decord")
