"""Does a pretrained encoder still see cats and dogs? The ImageNet
classifier that ships with the weights, on the pet photos.

ImageNet classes 151-268 are dog breeds and 281-285 domestic cats. A
correctly ported encoder (architecture, key mapping, input normalisation)
puts most of the probability on those 123 classes and calls the right pet
on most photos; random weights give about 0.12 of the mass (123 / 1000).
Used by ``benchmarks/imagenet_check.py`` and the port-check tests.
"""
from __future__ import annotations

import glob
import os.path as osp
from typing import Dict, Sequence, Tuple

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
import cv2
import numpy as np
import torch
import torch.nn.functional as F

CAT_CLASSES, DOG_CLASSES = slice(281, 286), slice(151, 269)


def load_photos(root: str, split: str = 'train',
                labels: str = 'labels') -> Tuple[torch.Tensor, np.ndarray]:
    """RGB photos as a float (N, 3, H, W) tensor in 0..255, and the pet of
    each (1 cat, 2 dog) from its mask."""
    paths = sorted(glob.glob(osp.join(root, 'img', split, '*.jpg')))
    images, pets = [], []
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        images.append(torch.from_numpy(rgb).permute(2, 0, 1).float())
        stem = osp.splitext(osp.basename(path))[0]
        mask = cv2.imread(osp.join(root, labels, split, stem + '.png'),
                          cv2.IMREAD_UNCHANGED)
        pets.append(2 if (mask == 2).any() else 1)
    return torch.stack(images), np.array(pets)


def classifier_from_state(state: Dict[str, torch.Tensor]):
    """The ImageNet head of an ``efficientnet_pytorch``-style state dict as
    a function of the stride-32 feature map (1x1 conv, BN eps 1e-3,
    ReLU6, global average pool, linear)."""
    bn = {k[len('_bn1.'):]: v for k, v in state.items()
          if k.startswith('_bn1.')}

    def classify(features: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(features, state['_conv_head.weight'])
        x = F.relu6(F.batch_norm(x, bn['running_mean'], bn['running_var'],
                                 bn['weight'], bn['bias'], eps=1e-3))
        return F.linear(x.mean((2, 3)), state['_fc.weight'],
                        state['_fc.bias'])
    return classify


@torch.no_grad()
def cat_vs_dog(backbone, classify, images: torch.Tensor, pets: np.ndarray,
               mean: Sequence[float], std: Sequence[float],
               batch: int = 32) -> dict:
    """Share of photos whose pet the ImageNet head names (the larger
    summed probability of the cat or the dog classes), and the mean
    probability on all 123 pet classes; inputs ``(x - mean) / std``."""
    backbone.eval()
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    probs = torch.cat([
        classify(backbone((images[i:i + batch] - m) / s)[-1]).softmax(1)
        for i in range(0, len(images), batch)])
    cat = probs[:, CAT_CLASSES].sum(1)
    dog = probs[:, DOG_CLASSES].sum(1)
    called = np.where((dog > cat).numpy(), 2, 1)
    return dict(images=len(images),
                cat_dog_accuracy=round(float((called == pets).mean()), 4),
                mean_pet_probability=round((cat + dog).mean().item(), 4))
