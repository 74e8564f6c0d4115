"""`box_area`, `box_iou`, `nms` (torchvision.ops), on (x1, y1, x2, y2) boxes."""
import numpy as np

from .. import backend
from ..utils.data import _bridge


def _np(t):
    return backend.to_numpy(t._data) if _bridge.is_tensor(t) else np.asarray(t)


def box_area(boxes):
    b = _np(boxes)
    return _bridge.wrap((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))


def _iou(a, b):
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def box_iou(boxes1, boxes2):
    """(N, M) intersection over union of every pair."""
    return _bridge.wrap(_iou(_np(boxes1), _np(boxes2)))


def nms(boxes, scores, iou_threshold):
    """Indices (int64) of the boxes kept by greedy non-maximum suppression, by decreasing score:
    a box is dropped when its IoU with a kept, higher-scoring box exceeds `iou_threshold`."""
    b, s = _np(boxes), _np(scores)
    order = np.argsort(-s, kind="stable")
    keep, removed = [], np.zeros(len(b), bool)
    iou = _iou(b, b) if len(b) else np.zeros((0, 0))
    for i in order:
        if removed[i]:
            continue
        keep.append(i)
        removed |= iou[i] > iou_threshold
    return _bridge.wrap(np.asarray(keep, dtype=np.int64))
