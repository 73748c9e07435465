"""Object detectors as models the Explainer can call, with their layouts.

    model, layout = decam.detectors.opencv_darknet("yolo-fastest-1.1.cfg",
                                                   "yolo-fastest-1.1.weights")
    found = decam.detectors.detect(model, layout, image)        # [Detection]
    with decam.Explainer(model, detection_layout=layout, budget=500) as ex:
        maps = ex.explain(image, targets=found[:2])              # (2, H, W)

opencv_detector(net, ...)   a cv2.dnn network with a YOLO-style head
opencv_darknet(cfg, weights, size=(320, 320))   the same, read from darknet files
torch_detector(module, ...) a torch module returning proposals (n, P, stride)
detect(model, layout, image, threshold=0.5, nms=0.45)
                            the detections of one image: best class score
                            >= threshold, then cv2.dnn.NMSBoxes at IoU nms
"""
import numpy as np

from .targets import Detection, DetectionLayout

__all__ = ["opencv_darknet", "opencv_detector", "torch_detector", "detect"]


def opencv_detector(net, size=(320, 320), box_format="cxcywh", normalised=True, box_offset=0,
                    objectness=4, class_offset=5):
    """(model, layout) for a cv2.dnn network whose unconnected output layers
    each give rows of proposals (a darknet/YOLO head: cx, cy, w, h as
    fractions of the input, objectness, class scores).

    The model takes the library's batches, (n, H, W, 3) float32 RGB in
    [0, 1] (the default layout "hwc"), resized to `size` (width, height)
    when they are not that size, forwards them as one NCHW blob, and
    returns every output layer's rows concatenated, (n, P * stride).
    The layout is read from one forward pass of a blank image: P rows of
    `stride` floats, classes = stride - class_offset."""
    import cv2
    names = net.getUnconnectedOutLayersNames()
    width, height = size

    def model(batch):
        batch = np.asarray(batch, np.float32)
        n = batch.shape[0]
        if batch.shape[1:3] != (height, width):
            batch = np.stack([cv2.resize(im, (width, height), interpolation=cv2.INTER_LINEAR)
                              for im in batch])
        net.setInput(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
        outs = net.forward(names)
        return np.concatenate([np.asarray(o, np.float32).reshape(n, -1) for o in outs], axis=1)

    probe = [np.asarray(o) for o in (net.setInput(np.zeros((1, 3, height, width), np.float32)),
                                     net.forward(names))[1]]
    stride = probe[0].shape[-1]
    proposals = sum(o.size for o in probe) // stride
    layout = DetectionLayout(proposals, stride, box_format, normalised, box_offset, objectness,
                             class_offset, stride - class_offset)
    return model, layout


def opencv_darknet(cfg, weights, size=(320, 320)):
    """(model, layout) of a darknet detector (cfg and weights files) run by
    OpenCV's DNN module; Yolo-Fastest 1.1 at 320 x 320 gives 300 + 1200
    rows of 85 floats: DetectionLayout(1500, 85, "cxcywh", True, 0, 4, 5, 80)."""
    import cv2
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    return opencv_detector(net, size)


def torch_detector(module, device=None, channels_last=False):
    """A model for a torch module that takes (n, 3, H, W) and returns
    proposals (n, P, stride) (or a list of such tensors, concatenated along
    P): it takes the library's batches as NumPy or tensors, (n, C, H, W)
    (the Explainer's layout="chw") or with channels_last (n, H, W, C),
    runs the module under torch.no_grad() on `device` (default its
    parameters') and returns NumPy (n, P * stride)."""
    import torch
    if device is None:
        try:
            device = next(module.parameters()).device
        except (StopIteration, AttributeError):
            device = "cpu"

    def model(batch):
        x = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(np.array(batch))
        if channels_last:
            x = x.permute(0, 3, 1, 2)
        with torch.no_grad():
            out = module(x.to(device))
        parts = out if isinstance(out, (list, tuple)) else [out]
        n = x.shape[0]
        return torch.cat([p.reshape(n, -1) for p in parts], dim=1).detach().cpu().numpy()
    return model


def _pixel_boxes(rows, layout, width, height):
    """The rows' boxes as x0, y0, x1, y1 in pixels."""
    b = rows[:, layout.box_offset:layout.box_offset + 4].astype(np.float64)
    if layout.normalised:
        b = b * np.array([width, height, width, height])
    if layout.box_format == "cxcywh":
        b = np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2,
                      b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], axis=1)
    elif layout.box_format == "xywh":
        b = np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], axis=1)
    return b


def detect(model, layout, image, threshold=0.5, nms=0.45):
    """The detections of `image` ((H, W, 3) float32 RGB in [0, 1], as the
    Explainer passes it to `model`), best first: rows whose best class
    score is >= threshold, then non-maximum suppression at IoU `nms`
    (cv2.dnn.NMSBoxes). Each a Detection with its box in pixels of
    `image`, label (the best class), class_scores and objectness."""
    import cv2
    image = np.asarray(image, np.float32)
    height, width = image.shape[:2]
    rows = np.asarray(model(image[None]), np.float32).reshape(layout.proposals, layout.stride)
    scores = rows[:, layout.class_offset:layout.class_offset + layout.classes]
    best = scores.max(axis=1)
    keep = np.flatnonzero(best >= threshold)
    if keep.size == 0:
        return []
    boxes = _pixel_boxes(rows[keep], layout, width, height)
    xywh = [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in boxes]
    chosen = np.asarray(cv2.dnn.NMSBoxes(xywh, best[keep].tolist(), threshold, nms)).reshape(-1)
    chosen = sorted(chosen.tolist(), key=lambda j: -best[keep[j]])
    out = []
    for j in chosen:
        r = keep[j]
        x0, y0, x1, y1 = boxes[j]
        obj = 1.0 if layout.objectness is None else float(rows[r, layout.objectness])
        if x1 <= x0 or y1 <= y0:
            continue
        out.append(Detection((x0, y0, x1, y1), label=int(scores[r].argmax()),
                             class_scores=scores[r].copy(), objectness=obj))
    return out
