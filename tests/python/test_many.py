"""Explainer.explain() on several images and several targets (issue #15),
through decam_begin/ask/tell/finish: every image's maps are the maps of
explaining it alone; the shapes of the results; targets None, int, lists,
lists of lists and "top-k"; torch input; progress over images; errors
before anything reaches C, the model's exception as it is. Needs NumPy."""
import contextlib
import io
import sys
import types

import pytest

from test_binding import NO_NUMPY

pytestmark = pytest.mark.skipif(bool(NO_NUMPY), reason=str(NO_NUMPY))
if not NO_NUMPY:
    import numpy as np

    import decam
    from many_models import SMALL, Regions, peak_in, scene

try:
    import torch
except ImportError:
    torch = None


def alone(image, target, **kw):
    """The map of one image and one target from an explainer of its own."""
    with decam.Explainer(Regions(kw.get("layout", "hwc")), **dict(SMALL, **kw)) as ex:
        return ex.explain(image, target)


def test_a_batch_gives_each_image_the_map_it_gets_alone():
    images = np.stack([scene(s) for s in range(4)])
    model = Regions()
    with decam.Explainer(model, batch_size=48, **SMALL) as ex:  # 4 generations a call
        maps = ex.explain(images, targets=1)
        stats, items = ex.stats, ex.item_stats
    assert maps.shape == (4, 48, 48) and maps.dtype == np.float32
    for i in range(4):
        assert maps[i].tobytes() == alone(images[i], 1).tobytes(), f"image {i}"
        assert peak_in(maps[i], 1)
    assert [s.queries for s in items] == [SMALL["budget"]] * 4
    assert stats.queries == 4 * SMALL["budget"]
    # one probe (the number of outputs), then calls carrying several images
    assert model.calls <= 1 + SMALL["budget"] // SMALL["population"] + 4, model.calls


def test_a_list_of_images_of_different_sizes_gives_a_list():
    images = [scene(0, 48, 48), scene(1, 40, 56), scene(2, 48, 48)]
    with decam.Explainer(Regions(), **SMALL) as ex:
        maps = ex.explain(images, targets=[0, 1, 2])
    assert isinstance(maps, list) and [m.shape for m in maps] == [(48, 48), (40, 56), (48, 48)]
    for i, m in enumerate(maps):
        assert m.tobytes() == alone(images[i], i).tobytes()
        assert peak_in(m, i)


def test_one_image_keeps_the_old_result_and_shape():
    image = scene(3)
    with decam.Explainer(Regions(), **SMALL) as ex:
        by_keyword = ex.explain(image, target=2)
        by_position = ex.explain(image, 2)
        one_list = ex.explain(image, [2])
    assert by_keyword.shape == (48, 48)
    assert by_keyword.tobytes() == by_position.tobytes() == one_list.tobytes()


def test_several_targets_per_image_keep_the_k_axis():
    images = np.stack([scene(s) for s in range(2)])
    with decam.Explainer(Regions(), **SMALL) as ex:
        maps = ex.explain(images, targets=[[0, 2], [1, 0]])
        single = ex.explain(images[0], targets=[[2]])
        one = ex.explain(images[1], targets=[[1, 2]])
    assert maps.shape == (2, 2, 48, 48)
    assert single.shape == (1, 48, 48)  # a list of lists keeps K, also for K = 1
    assert one.shape == (2, 48, 48)
    # the search follows the first target: its map is the single-target one
    assert maps[0, 0].tobytes() == alone(images[0], 0).tobytes()
    assert maps[1, 0].tobytes() == alone(images[1], 1).tobytes()
    assert single[0].tobytes() == alone(images[0], 2).tobytes()
    # every other map comes from the same queries, and still finds its region
    assert peak_in(maps[0, 1], 2) and peak_in(maps[1, 1], 0)


def test_rise_maps_of_several_targets_equal_single_target_runs():
    image = scene(5)
    rise = dict(method="rise", budget=256, seed=3)
    with decam.Explainer(Regions(), **dict(SMALL, **rise)) as ex:
        maps = ex.explain(image, targets=[[0, 1, 2]])
    for j in range(3):
        assert maps[j].tobytes() == alone(image, j, **rise).tobytes()


def test_top_k_explains_the_highest_outputs_highest_first():
    images = np.stack([scene(s) for s in range(2)])
    model = Regions()
    with decam.Explainer(model, **SMALL) as ex:
        top2 = ex.explain(images, targets="top-2")
        scored = model.images
        top1 = ex.explain(images, targets="top-1")
        default = ex.explain(images)
        listed = [ex.explain(image, [[1, 0]]) for image in images]
    assert top2.shape == (2, 2, 48, 48) and top1.shape == (2, 1, 48, 48)
    assert default.shape == (2, 48, 48)
    # scene(): output 1 is the brightest region, then 0
    for i in range(2):
        assert top2[i, 0].tobytes() == alone(images[i], 1).tobytes()
        assert top2[i].tobytes() == listed[i].tobytes()
        assert top1[i, 0].tobytes() == default[i].tobytes() == top2[i, 0].tobytes()
    # one probe per image, outside the budget
    assert scored == 2 * SMALL["budget"] + 2


def test_grad_cam_style_targets_count_as_their_category():
    images = np.stack([scene(s) for s in range(2)])
    targets = [types.SimpleNamespace(category=2), types.SimpleNamespace(category=np.int64(0))]
    with decam.Explainer(Regions(), **SMALL) as ex:
        assert ex.explain(images, targets).tobytes() == ex.explain(images, [2, 0]).tobytes()


def test_top_output_is_the_default_target():
    image = scene(1)
    with decam.Explainer(Regions(), **SMALL) as ex:
        saliency = ex.explain(image)
        assert ex.get_param("target") == 1 and ex.get_param("n_outputs") == 3
    assert saliency.tobytes() == alone(image, 1).tobytes()


def test_planar_layout_batches():
    images = np.stack([scene(s, layout="chw") for s in range(3)])
    with decam.Explainer(Regions("chw"), layout="chw", **SMALL) as ex:
        maps = ex.explain(images, targets=[0, 1, 2])
    assert maps.shape == (3, 48, 48)
    for i in range(3):
        assert maps[i].tobytes() == alone(images[i], i, layout="chw").tobytes()


@pytest.mark.skipif(torch is None, reason="python3-torch is not installed")
def test_torch_images_reach_the_model_as_tensors_and_give_numpy_maps():
    images = np.stack([scene(s) for s in range(2)])
    model = Regions()
    with decam.Explainer(model, **SMALL) as ex:
        maps = ex.explain(torch.from_numpy(images), targets=[0, 1])
        listed = ex.explain([torch.from_numpy(images[0])], targets=[0])
    assert isinstance(maps, np.ndarray) and maps.shape == (2, 48, 48)
    assert set(model.seen) == {"Tensor"}
    assert maps[0].tobytes() == alone(images[0], 0).tobytes() == listed[0].tobytes()
    grads = []

    def needs_no_grad(batch):
        grads.append(torch.is_grad_enabled())
        return Regions()(batch)

    decam.Explainer(needs_no_grad, **SMALL).explain(torch.from_numpy(images[0]), 0)
    assert not any(grads), "the model runs under torch.no_grad()"


@pytest.mark.skipif(torch is None, reason="python3-torch is not installed")
def test_evaluate_feeds_torch_images_to_the_model_as_tensors():
    image = scene(4)
    model = Regions()
    with decam.Explainer(model, **SMALL) as ex:
        saliency = ex.explain(torch.from_numpy(image), 0)
        model.seen.clear()
        m = ex.evaluate(torch.from_numpy(image), saliency, target=0)
        assert set(model.seen) == {"Tensor"}
        other = ex.evaluate(image, saliency, target=0)
        assert (m.deletion_auc, m.insertion_auc) == (other.deletion_auc, other.insertion_auc)


@pytest.mark.skipif(torch is None, reason="python3-torch is not installed")
def test_mixed_tensors_and_arrays_are_refused():
    with pytest.raises(ValueError, match="mix torch tensors"):
        decam.Explainer(Regions()).explain([scene(0), torch.from_numpy(scene(1))], 0)


@pytest.mark.parametrize("targets, error, match", [
    ([0, 1], ValueError, "2 entries for 3 images"),
    (1.0, TypeError, "must be an integer"),
    ("1", TypeError, "top-k"),
    ("top-0", ValueError, "1 or more"),
    ("best", TypeError, "top-k"),
    ([0, [1], 2], TypeError, "mixes integers and lists"),
    ([[0], [1, 2], [0]], ValueError, "same number of targets"),
    ([[0], [], [1]], ValueError, "empty"),
    (-1, ValueError, "not an output index"),
    ([0, 1, None], TypeError, "must be an integer"),
])
def test_wrong_targets_raise_before_anything_is_queried(targets, error, match):
    model = Regions()
    with pytest.raises(error, match=match):
        decam.Explainer(model, n_outputs=3, **SMALL).explain(
            np.stack([scene(s) for s in range(3)]), targets)
    assert model.calls == 0


def test_several_targets_for_one_image_need_a_list_of_lists():
    with pytest.raises(ValueError, match=r"list of lists, \[\[0, 2\]\]"):
        decam.Explainer(Regions(), n_outputs=3).explain(scene(0), [0, 2])


@pytest.mark.parametrize("images, error, match", [
    (np.zeros((1, 2, 8, 8, 3)), ValueError, r"2 or 3 dimensions .* not shape \(1, 2, 8, 8, 3\)"),
    (np.zeros(8), ValueError, r"not shape \(8,\)"),
    ([np.zeros((8, 8, 3)), np.zeros((2, 8, 8, 3))], ValueError, r"images\[1\]"),
    (np.zeros((2, 8, 8, 3), complex), TypeError, "real numbers"),
    (np.full((2, 8, 8, 3), np.nan), ValueError, "NaN"),
    (np.zeros((0, 8, 8, 3)), ValueError, "empty"),
])
def test_wrong_images_raise_before_anything_is_queried(images, error, match):
    model = Regions()
    with pytest.raises(error, match=match):
        decam.Explainer(model, n_outputs=3).explain(images, 0)
    assert model.calls == 0


def test_a_target_beyond_the_outputs_is_the_library_s_out_of_range():
    with pytest.raises(decam.DecamError) as e:
        decam.Explainer(Regions(), **SMALL).explain([scene(0), scene(1)], targets=[[0], [7]])
    assert e.value.status == decam.Status.OUT_OF_RANGE
    with pytest.raises(ValueError, match="top-4"):
        decam.Explainer(Regions(), **SMALL).explain(scene(0), "top-4")


def test_both_target_and_targets_is_an_error():
    with pytest.raises(TypeError, match="both"):
        decam.Explainer(Regions()).explain(scene(0), 0, target=1)


class Boom(Exception):
    pass


def test_an_exception_of_the_model_goes_on_as_it_is_and_the_explainer_stays_usable():
    regions, calls = Regions(), []

    def model(batch):
        calls.append(len(batch))
        if len(calls) == 4:
            raise Boom("in the model")
        return regions(batch)

    images = np.stack([scene(s) for s in range(3)])
    ex = decam.Explainer(model, n_outputs=3, **SMALL)
    with pytest.raises(Boom, match="in the model"):
        ex.explain(images, 0)
    assert len(calls) == 4, "no call after the failing one"
    assert ex.stats.termination == "error"
    again = ex.explain(images, 0)
    fresh = decam.Explainer(Regions(), **SMALL).explain(images, 0)
    assert again.tobytes() == fresh.tobytes()


def test_wrong_score_shapes_raise_and_leave_the_explainer_usable():
    n = []

    def model(batch):
        n.append(len(batch))
        return np.zeros((len(batch), 3 if len(n) < 3 else 2), np.float32)

    ex = decam.Explainer(model, **SMALL)
    with pytest.raises(ValueError, match="expected"):
        ex.explain([scene(0), scene(1)], 0)
    ex.model = Regions()
    assert ex.explain(scene(0), 0).shape == (48, 48)


def test_stop_from_the_model_cancels_with_the_maps_so_far():
    ex = None
    regions = Regions()

    def model(batch):
        if regions.calls == 5:
            ex.stop()
        return regions(batch)

    ex = decam.Explainer(model, n_outputs=3, **SMALL)
    with pytest.raises(decam.Cancelled) as e:
        ex.explain(np.stack([scene(s) for s in range(3)]), 0)
    assert e.value.saliency.shape == (3, 48, 48)
    assert np.isfinite(e.value.saliency).all()
    assert ex.explain(scene(0), 0).shape == (48, 48)


def test_progress_counts_queries_and_images():
    seen = []
    ex = decam.Explainer(Regions(), n_outputs=3, progress=lambda p: seen.append(p) and False,
                         **SMALL)
    ex.explain(np.stack([scene(s) for s in range(3)]), 0)
    assert {p.items for p in seen} == {3}
    assert {p.item for p in seen} == {0, 1, 2}
    assert {p.budget for p in seen} == {3 * SMALL["budget"]}, "the run's budget"
    assert [p.queries for p in seen] == sorted(p.queries for p in seen)
    # the last report comes before the final kept and dropped images are scored
    assert 3 * SMALL["budget"] - 6 <= seen[-1].queries <= 3 * SMALL["budget"]
    assert [p.items_done for p in seen] == sorted(p.items_done for p in seen)


def test_progress_bar_spans_the_queries_of_every_image():
    bars = []

    class FakeTqdm:
        def __init__(self, total, **kw):
            self.total, self.n, self.postfix, self.closed = total, 0, "", False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, s, refresh=True):
            self.postfix = s

        def close(self):
            self.closed = True

    saved = sys.modules.get("tqdm")
    sys.modules["tqdm"] = types.SimpleNamespace(tqdm=FakeTqdm)
    try:
        decam.Explainer(Regions(), progress=True, **SMALL).explain(
            np.stack([scene(s) for s in range(2)]), 0)
    finally:
        sys.modules.pop("tqdm")
        if saved is not None:
            sys.modules["tqdm"] = saved
    assert len(bars) == 1 and bars[0].closed
    assert bars[0].total == bars[0].n == 2 * SMALL["budget"]
    assert bars[0].postfix == "2/2 images done"
    sys.modules["tqdm"] = None  # import tqdm raises ImportError: the text line
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            decam.Explainer(Regions(), progress=True, **SMALL).explain(
                [scene(0), scene(1)], 0)
    finally:
        sys.modules.pop("tqdm")
        if saved is not None:
            sys.modules["tqdm"] = saved
    assert err.getvalue().endswith(f"{2 * SMALL['budget']}/{2 * SMALL['budget']} queries, "
                                   "2/2 images\n")


def _normalising_in_place(batch):
    """A model that normalises its batch in place, as preprocessing code
    often does, then scores it."""
    batch -= 0.25
    batch *= 2
    return Regions()(batch)


def _normalising(batch):
    """The same scores, without writing into the batch."""
    return Regions()((batch - 0.25) * 2)


def test_a_model_writing_into_its_batch_cannot_change_the_numpy_image():
    # Every batch is read-only, the probe (the caller's own image) included.
    image = scene(7)
    before = image.copy()
    with decam.Explainer(_normalising_in_place, **SMALL) as ex:
        with pytest.raises(ValueError, match="read-only"):
            ex.explain(image)  # the probe that finds the top target
        with pytest.raises(ValueError, match="read-only"):
            ex.explain(image, 0)  # the queries
        saliency = np.zeros((48, 48), np.float32)
        with pytest.raises(ValueError, match="read-only"):
            ex.evaluate(image, saliency)  # evaluate's probe
    assert image.tobytes() == before.tobytes()


@pytest.mark.skipif(torch is None, reason="python3-torch is not installed")
def test_a_model_writing_into_its_tensor_cannot_change_the_callers_tensor():
    image = scene(7)
    tensor = torch.from_numpy(image.copy())
    with decam.Explainer(_normalising_in_place, **SMALL) as ex:
        maps = ex.explain(tensor)  # a probe finds the target, then the queries
        assert ex.get_param("target") == 1
        m = ex.evaluate(tensor, maps)  # evaluate's own probe
    assert tensor.numpy().tobytes() == image.tobytes(), "the caller's image was rewritten"
    with decam.Explainer(_normalising, **SMALL) as ex:
        assert maps.tobytes() == ex.explain(torch.from_numpy(image)).tobytes()
        other = ex.evaluate(torch.from_numpy(image), maps)
    assert (m.deletion_auc, m.insertion_auc) == (other.deletion_auc, other.insertion_auc)


def test_uint8_images_are_refused_with_the_conversion_to_make():
    # overlay() and render_panel() read uint8 as 0..255 bytes; the model
    # would get 0..255 floats: explain() and evaluate() refuse to guess.
    image = np.rint(scene(2) * 255).astype(np.uint8)
    with decam.Explainer(Regions(), **SMALL) as ex:
        for call in (lambda: ex.explain(image, 0), lambda: ex.explain(image[None], 0),
                     lambda: ex.explain([image], [0]),
                     lambda: ex.evaluate(image, np.zeros((48, 48), np.float32), 0),
                     lambda: ex.set_baseline_image(image)):
            with pytest.raises(TypeError, match=r"uint8.*astype\(np\.float32\) / 255"):
                call()
        if torch is not None:
            with pytest.raises(TypeError, match="uint8"):
                ex.explain(torch.from_numpy(image), 0)
        # the conversion it names gives the map of the [0, 1] image
        floats = image.astype(np.float32) / 255
        assert ex.explain(floats, 0).shape == (48, 48)


def test_an_image_that_looks_planar_needs_layout_chw():
    planar = np.ascontiguousarray(scene(3).transpose(2, 0, 1))  # (3, 48, 48)
    with decam.Explainer(Regions(), **SMALL) as ex:
        with pytest.raises(ValueError, match=r"looks like \(C, H, W\).*layout='chw'.*"
                                             r"transpose\(1, 2, 0\)"):
            ex.explain(planar, 0)
        with pytest.raises(ValueError, match=r"\(N, C, H, W\).*transpose\(0, 2, 3, 1\)"):
            ex.explain(planar[None], 0)
        with pytest.raises(ValueError, match="layout='chw'"):
            ex.evaluate(planar, np.zeros((48, 48), np.float32), 0)
    with decam.Explainer(Regions("chw"), layout="chw", **SMALL) as ex:
        assert ex.explain(planar, 0).tobytes() == alone(scene(3), 0).tobytes()
