"""The 8 symmetries of the square (flips and 90-degree rotations) for IRPAD.

None of them changes a degradation bin: blur is rated by its radially averaged MTF, noise is
white or colour noise with no direction, and a 128-px LR crop (a multiple of 8) keeps its
8x8 JPEG block grid under any flip or transpose. So they serve as free training augmentation
and as test-time augmentation (TTA: the mean of the 8 views' log-probabilities).
"""

from __future__ import annotations

import torch

# (transpose, flip left-right, flip up-down); index 0 is the identity.
VIEWS = [(t, h, v) for t in (False, True) for h in (False, True) for v in (False, True)]


def dihedral_view(x: torch.Tensor, view: int) -> torch.Tensor:
    """One of the 8 views of images (B,C,H,W) (transposed views are (B,C,W,H))."""
    t, h, v = VIEWS[view]
    if t:
        x = x.transpose(-1, -2)
    if h:
        x = x.flip(-1)
    if v:
        x = x.flip(-2)
    return x


def random_dihedral(lr: torch.Tensor, rotations: bool = True) -> torch.Tensor:
    """A random view per image (flips only when ``rotations`` is False), drawn from torch's
    global generator (restored on --resume, so a resumed run draws the same views).
    lr: (B,3,S,S) square images; returns the same shape and dtype."""
    draws = (torch.rand(lr.shape[0], 3) < 0.5).long()      # (transpose, flip lr, flip ud)
    if not rotations:
        draws[:, 0] = 0
    view = (draws * torch.tensor([4, 2, 1])).sum(1).to(lr.device)   # index into VIEWS
    out = lr.clone()
    for i in view.unique().tolist():
        picked = view == i
        out[picked] = dihedral_view(lr[picked], i)
    return out

