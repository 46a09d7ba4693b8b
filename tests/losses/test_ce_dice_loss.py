"""CEDiceLoss value and gradient against a direct computation."""
import pytest
import torch

from custom_modules.losses import CEDiceLoss


def _direct(logits, label, ce_w, dice_w, class_weight, smooth, ignore=255):
    """Loop-by-loop reference: weighted CE mean + (1 - mean class Dice)."""
    n, c, h, w = logits.shape
    probs = logits.softmax(1)
    num = den = 0.0
    inter = [0.0] * c
    psum = [0.0] * c
    tsum = [0.0] * c
    for b in range(n):
        for y in range(h):
            for x in range(w):
                t = int(label[b, y, x])
                if t == ignore:
                    continue
                wt = 1.0 if class_weight is None else class_weight[t]
                num = num - wt * torch.log(probs[b, t, y, x])
                den += wt
                for k in range(c):
                    psum[k] = psum[k] + probs[b, k, y, x]
                    tsum[k] += float(k == t)
                    inter[k] = inter[k] + probs[b, k, y, x] * float(k == t)
    ce = num / den
    dice = sum((2 * inter[k] + smooth) / (psum[k] + tsum[k] + smooth)
               for k in range(c)) / c
    return ce_w * ce + dice_w * (1 - dice)


@pytest.mark.parametrize('ce_w,dice_w,class_weight,smooth', [
    (1.0, 1.0, None, 1.0), (0.5, 2.0, [0.2, 1.0, 3.0], 0.0),
    (1.0, 0.0, [1.0, 2.0, 2.0], 1.0)])
def test_value_and_gradient_match_direct_computation(ce_w, dice_w,
                                                     class_weight, smooth):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    label = torch.randint(0, 3, (2, 4, 5), generator=g)
    label[0, 0, :3] = 255
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    loss = CEDiceLoss(ce_weight=ce_w, dice_weight=dice_w,
                      class_weight=class_weight, smooth=smooth)(a, label)
    ref = _direct(b, label, ce_w, dice_w, class_weight, smooth)
    torch.testing.assert_close(loss, ref)
    loss.backward()
    ref.backward()
    torch.testing.assert_close(a.grad, b.grad)
    assert a.grad[0, :, 0, :3].abs().max() == 0  # ignored pixels: no gradient


def test_perfect_prediction_scores_near_zero_and_all_ignored_is_zero():
    label = torch.tensor([[[0, 1], [2, 1]]])
    logits = torch.nn.functional.one_hot(label, 3).permute(0, 3, 1, 2) * 30.0
    assert CEDiceLoss()(logits.float(), label) < 1e-3
    ignored = torch.full_like(label, 255)
    loss = CEDiceLoss()(logits.float().requires_grad_(), ignored)
    assert loss.item() == pytest.approx(0.0)


def test_loss_name_and_weight_argument():
    loss = CEDiceLoss(loss_name='loss_mix', loss_weight=0.4)
    assert loss.loss_name == 'loss_mix'
    x = torch.randn(1, 3, 2, 2)
    y = torch.zeros(1, 2, 2, dtype=torch.long)
    assert loss(x, y) == pytest.approx(0.4 * CEDiceLoss()(x, y).item())
    with pytest.raises(ValueError, match='per-pixel weights'):
        loss(x, y, weight=torch.ones(1, 2, 2))


def test_bfloat16_logits_are_scored_in_float32():
    """Under autocast the head hands over bfloat16 logits; the loss is the
    float32 loss of those same values, with a float32 gradient."""
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 8, 8, generator=g).bfloat16().requires_grad_()
    label = torch.randint(0, 3, (2, 8, 8), generator=g)
    loss = CEDiceLoss()(logits, label)
    assert loss.dtype == torch.float32
    expected = CEDiceLoss()(logits.detach().float(), label)
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)
    loss.backward()
    assert logits.grad.dtype == torch.bfloat16 and logits.grad.abs().sum() > 0
