"""Target objects (decam.targets): Detection, Similarity and Region targets
explained through the library's scorers, on a planted detector, embedder
and segmenter whose right answer is known; one kind per call; plain int
targets unchanged by a scorer having been used; evaluate() with a
Detection; overlay() with a box. Needs NumPy (the overlay, image I/O)."""
import numpy as np
import pytest

from test_binding import NO_IO, NO_NUMPY

pytestmark = pytest.mark.skipif(bool(NO_NUMPY), reason=str(NO_NUMPY))
if not NO_NUMPY:
    import decam
    from decam import Detection, DetectionLayout, DenseLayout, Region, Similarity

needs_io = pytest.mark.skipif(bool(NO_IO), reason=str(NO_IO))

W = H = 48
A, B = (6, 6, 18, 18), (28, 26, 42, 40)  # two bright squares, x0, y0, x1, y1


def scene():
    image = np.zeros((H, W, 3), np.float32)
    for x0, y0, x1, y1 in (A, B):
        image[y0:y1, x0:x1] = 1
    return image


def mean_in(batch, box):
    x0, y0, x1, y1 = box
    return np.asarray(batch)[:, y0:y1, x0:x1].mean(axis=(1, 2, 3))


class Detector:
    """Three proposals of 7 floats (x0, y0, x1, y1 in pixels, objectness, two
    class scores): A of class 0 and B of class 1, each as sure as its box is
    bright, and a faint whole-frame one. Returns (n, 3, 7), or flattened."""
    LAYOUT = dict(proposals=3, stride=7, objectness=4, class_offset=5, classes=2)

    def __init__(self, flat=False):
        self.flat, self.calls = flat, 0

    def __call__(self, batch):
        self.calls += 1
        n = len(batch)
        out = np.zeros((n, 3, 7), np.float32)
        out[:, 0, :4], out[:, 0, 4], out[:, 0, 5:] = A, mean_in(batch, A), (0.9, 0.1)
        out[:, 1, :4], out[:, 1, 4], out[:, 1, 5:] = B, mean_in(batch, B), (0.1, 0.9)
        out[:, 2, :4], out[:, 2, 4], out[:, 2, 5:] = (0, 0, W, H), 0.1, 0.5
        return out.reshape(n, -1) if self.flat else out


def embedder(batch):
    """8 x 8 cells' mean brightness, and a constant (never all zero)."""
    b = np.asarray(batch).mean(axis=3).reshape(len(batch), 8, H // 8, 8, W // 8)
    cells = b.mean(axis=(2, 4)).reshape(len(batch), -1)
    return np.concatenate([cells, np.full((len(batch), 1), 0.05, np.float32)], axis=1)


def segmenter(batch):
    """A 12 x 12 class map, CHW: class 1 the cells' brightness, class 0 the rest."""
    b = np.asarray(batch).mean(axis=3).reshape(len(batch), 12, H // 12, 12, W // 12)
    one = b.mean(axis=(2, 4))
    return np.stack([1 - one, one], axis=1).reshape(len(batch), -1)


def peaks_in(saliency, box):
    x0, y0, x1, y1 = box
    inside = np.zeros(saliency.shape, bool)
    inside[y0:y1, x0:x1] = True
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    return inside[y, x] and saliency[inside].mean() > 2 * saliency[~inside].mean()


def test_two_detections_in_one_call_give_a_map_each_on_its_box():
    model = Detector()
    with decam.Explainer(model, detection_layout=Detector.LAYOUT, budget=300, seed=0) as ex:
        maps = ex.explain(scene(), targets=[Detection(A, label=0), Detection(B, label=1)])
        assert maps.shape == (2, H, W) and maps.dtype == np.float32
        assert ex.stats.queries == 300  # one set of queries for both
        assert peaks_in(maps[0], A) and peaks_in(maps[1], B)
        # afterwards the outputs scorer again, n_outputs as it was
        assert decam._binding._lib.decam_get_scorer(ex._ctx) == 0
        assert ex._k is None


def test_detection_class_scores_a_flat_model_and_follow_all():
    layout = DetectionLayout(3, 7, "xyxy", False, 0, 4, 5, 2)
    with decam.Explainer(Detector(flat=True), budget=300, seed=1, follow="all") as ex:
        maps = ex.explain(scene(), targets=[Detection(B, class_scores=[0.1, 0.9]),
                                            Detection(A, label=0)], detection_layout=layout)
        assert peaks_in(maps[0], B) and peaks_in(maps[1], A)
        assert ex.get_param("follow") == "all"


def test_a_list_of_images_each_with_its_own_detections():
    image = scene()
    only_b = image.copy()
    only_b[A[1]:A[3], A[0]:A[2]] = 0
    with decam.Explainer(Detector(), detection_layout=Detector.LAYOUT, budget=200,
                         seed=2) as ex:
        maps = ex.explain([image, only_b], targets=[[Detection(A, label=0)],
                                                    [Detection(B, label=1)]])
        assert [m.shape for m in maps] == [(1, H, W), (1, H, W)]
        assert peaks_in(maps[0][0], A) and peaks_in(maps[1][0], B)
        one = ex.explain(image, targets=Detection(A, label=0))
        assert one.shape == (H, W)


def test_similarity_map_peaks_on_the_object():
    image = scene()
    image[B[1]:B[3], B[0]:B[2]] = 0  # A alone
    reference = embedder(image[None])[0]
    with decam.Explainer(embedder, budget=300, seed=3) as ex:
        saliency = ex.explain(image, targets=Similarity(reference))
        assert saliency.shape == (H, W) and peaks_in(saliency, A)
        distance = ex.explain(image, targets=[Similarity(reference, kind="distance")])
        assert distance.shape == (1, H, W) and peaks_in(distance[0], A)


def test_region_map_peaks_inside_the_region():
    mask = np.zeros((12, 12), bool)
    mask[B[1] // 4:B[3] // 4, B[0] // 4:B[2] // 4] = True  # B's cells, class 1
    with decam.Explainer(segmenter, dense_layout=DenseLayout(12, 12, 2, "chw"), budget=300,
                         seed=4) as ex:
        saliency = ex.explain(scene(), targets=Region(mask, 1))
        assert peaks_in(saliency, B)


def test_a_mix_of_kinds_is_refused():
    with decam.Explainer(Detector(), detection_layout=Detector.LAYOUT, budget=50) as ex:
        with pytest.raises(TypeError, match="one kind"):
            ex.explain(scene(), targets=[Detection(A, label=0), Similarity(np.ones(22))])
        with pytest.raises(TypeError, match="one kind"):
            ex.explain(scene(), targets=[Detection(A, label=0), 3])
        with pytest.raises(ValueError, match="detection_layout"):
            decam.Explainer(Detector()).explain(scene(), targets=Detection(A, label=0))
        assert decam._binding._lib.decam_get_scorer(ex._ctx) == 0


def test_plain_int_targets_are_bit_identical_after_a_scorer():
    image = scene()
    with decam.Explainer(Detector(flat=True), budget=200, seed=5) as ex:
        before = ex.explain(image, target=4)  # proposal A's objectness
    with decam.Explainer(Detector(flat=True), detection_layout=Detector.LAYOUT, budget=200,
                         seed=5) as ex:
        ex.explain(image, targets=[Detection(A, label=0)])
        after = ex.explain(image, target=4)
        assert np.array_equal(before, after)
        assert ex.explain(image, targets=[[4, 11]]).shape == (2, H, W)  # ints as before


def test_evaluate_a_detection_points_at_its_box():
    image = scene()
    det = Detection(A, label=0)
    with decam.Explainer(Detector(), detection_layout=Detector.LAYOUT, budget=300,
                         seed=6) as ex:
        good = ex.explain(image, targets=det)
        m = ex.evaluate(image, good, target=det)
        assert m.pointing_game == 1.0 and m.score_full > 0.9
        bad = np.zeros((H, W), np.float32)
        bad[B[1]:B[3], B[0]:B[2]] = 1  # the other object
        worse = ex.evaluate(image, bad, target=det)
        assert worse.pointing_game == 0.0
        assert m.insertion_auc - m.deletion_auc > worse.insertion_auc - worse.deletion_auc
        assert decam._binding._lib.decam_get_scorer(ex._ctx) == 0


@needs_io
def test_overlay_draws_the_box_and_nothing_else():
    image, saliency = scene(), np.linspace(0, 1, H * W, dtype=np.float32).reshape(H, W)
    plain = decam.overlay(image, saliency)
    boxed = decam.overlay(image, saliency, box=(10, 12, 30, 40))
    changed = np.any(plain != boxed, axis=2)
    assert (boxed[12:14, 10:30] == (0, 255, 0)).all() and (boxed[12:40, 28:30] == (0, 255, 0)).all()
    assert not changed[14:38, 12:28].any() and not changed[:12].any() and not changed[40:].any()
    two = decam.overlay(image, saliency, boxes=[Detection(A, label=0), B], box_color=(255, 0, 255))
    assert (two[A[1], A[0]:A[2]] == (255, 0, 255)).all()
    assert (two[B[3] - 1, B[0]:B[2]] == (255, 0, 255)).all()
