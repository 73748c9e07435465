"""decam.overlay() (pytorch-grad-cam's show_cam_on_image, with the library's
colormaps) and decam.quantus_explain() (an explain_func for Quantus),
called here the way Quantus calls it, on a small torch nn.Module. Needs
NumPy; the overlay needs the library's I/O part, the Quantus case torch."""
import numpy as np
import pytest

from test_binding import NO_IO, NO_NUMPY

pytestmark = pytest.mark.skipif(bool(NO_NUMPY), reason=str(NO_NUMPY))
if not NO_NUMPY:
    import decam
    from many_models import SMALL, Regions, scene

try:
    import torch
except ImportError:
    torch = None

needs_io = pytest.mark.skipif(bool(NO_IO), reason=str(NO_IO))
needs_torch = pytest.mark.skipif(torch is None, reason="python3-torch is not installed")


def show_cam_on_image(img, colour, image_weight):
    """pytorch-grad-cam's formula (utils/image.py), with the colour given."""
    cam = (1 - image_weight) * np.float32(colour) / 255 + image_weight * img
    return np.uint8(np.rint(255 * cam / np.max(cam)))


@needs_io
def test_overlay_blends_as_show_cam_on_image_does():
    image = scene(0)  # float RGB in [0, 1]
    saliency = np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    # the library's colouring of the map: the middle third of its panel
    colour = decam.render_panel(image, saliency, top_fraction=0)[:, 48:96]
    for weight in (0.0, 0.3, 0.5, 1.0):
        got = decam.overlay(image, saliency, image_weight=weight)
        assert got.dtype == np.uint8 and got.shape == (48, 48, 3)
        expected = show_cam_on_image(image, colour, weight)
        assert np.abs(got.astype(int) - expected).max() <= 1, weight
    as_bytes = np.rint(image * 255).astype(np.uint8)
    assert np.abs(decam.overlay(as_bytes, saliency).astype(int) -
                  decam.overlay(image, saliency).astype(int)).max() <= 1
    gray = decam.overlay(image[..., 0], saliency, colormap="viridis")
    assert gray.shape == (48, 48, 3)


@needs_io
@pytest.mark.parametrize("args, error, match", [
    ((np.full((8, 8, 3), 2.0), np.zeros((8, 8))), ValueError, r"\[0, 1\]"),
    ((np.zeros((8, 8, 3)), np.zeros((8, 9))), ValueError, "shape"),
    ((np.zeros((8, 8, 4)), np.zeros((8, 8))), ValueError, "H, W, 3"),
    ((np.zeros((8, 8, 3), np.int16), np.zeros((8, 8))), TypeError, "uint8"),
    ((np.zeros((8, 8, 3)), np.full((8, 8), np.nan)), ValueError, "NaN"),
])
def test_overlay_refuses_what_it_cannot_draw(args, error, match):
    with pytest.raises(error, match=match):
        decam.overlay(*args)


@needs_io
def test_overlay_checks_weight_and_colormap():
    args = (np.zeros((8, 8, 3)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="image_weight"):
        decam.overlay(*args, image_weight=1.5)
    with pytest.raises(TypeError, match="image_weight"):
        decam.overlay(*args, image_weight="0.5")
    with pytest.raises(ValueError, match="colormap"):
        decam.overlay(*args, colormap="hot")


def small_net(seed=0):
    """A small classifier, 3 x 24 x 24 -> 5 logits, random weights."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(3), torch.nn.Flatten(),
                              torch.nn.Linear(36, 5))
    return net.eval()


def quantus_like_call(explain_func, model, x_batch, y_batch, **explain_func_kwargs):
    """What a Quantus metric does with explain_func (quantus/metrics/base.py:
    explain_batch; helpers/utils.py: expand_attribution_channel;
    helpers/asserts.py: assert_attributions): calls it by keyword with
    NumPy inputs (N, C, H, W) and targets (N,), then expects an array with
    the batch first, at most x's dimensions, a channel axis added when
    missing, and the spatial shape of the inputs."""
    a_batch = explain_func(model=model, inputs=x_batch, targets=y_batch, **explain_func_kwargs)
    assert type(a_batch) is np.ndarray, type(a_batch)
    assert a_batch.shape[0] == x_batch.shape[0]
    assert a_batch.ndim <= x_batch.ndim
    if a_batch.ndim < x_batch.ndim:
        a_batch = np.expand_dims(a_batch, axis=1)
    assert a_batch.shape[2:] == x_batch.shape[2:]
    assert a_batch.shape[1] in (1, x_batch.shape[1])
    return a_batch


@needs_torch
def test_quantus_explain_is_an_explain_func():
    net = small_net()
    rng = np.random.default_rng(1)
    x_batch = rng.random((3, 3, 24, 24)).astype(np.float64)  # Quantus may pass float64
    y_batch = np.array([4, 0, 2])
    params = dict(budget=200, grid=4, population=10, seed=2)
    a = quantus_like_call(decam.quantus_explain, net, x_batch, y_batch, device="cpu", **params)
    assert a.shape == (3, 1, 24, 24) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1

    def probabilities(batch):  # what the adapter runs: softmax of the module's logits
        with torch.no_grad():
            return torch.softmax(net(torch.from_numpy(np.array(batch))), dim=1).numpy()

    with decam.Explainer(probabilities, layout="chw", **params) as ex:
        direct = ex.explain(x_batch.astype(np.float32), targets=list(y_batch))
    assert a[:, 0].tobytes() == direct.tobytes()
    # positional, as some metrics call it; tensors and a single int work too
    again = decam.quantus_explain(net, torch.from_numpy(x_batch), torch.tensor(y_batch), **params)
    assert again.tobytes() == a.tobytes()
    same_class = decam.quantus_explain(net, x_batch[:1], 4, **params)
    assert same_class.tobytes() == a[:1].tobytes()


@needs_torch
def test_quantus_explain_takes_callables_and_channel_last_inputs():
    images = np.stack([scene(s, layout="chw") for s in range(2)])
    a = decam.quantus_explain(Regions("chw"), images, [0, 1], **SMALL)
    with decam.Explainer(Regions("chw"), layout="chw", **SMALL) as ex:
        assert a[:, 0].tobytes() == ex.explain(images, [0, 1]).tobytes()
    last = decam.quantus_explain(Regions("chw"), images.transpose(0, 2, 3, 1), [0, 1],
                                 channel_first=False, **SMALL)
    assert last.tobytes() == a.tobytes()


@needs_torch
def test_quantus_explain_refuses_wrong_arguments():
    net, x = small_net(), np.zeros((2, 3, 24, 24), np.float32)
    with pytest.raises(ValueError, match="2 inputs"):
        decam.quantus_explain(net, x, [1, 2, 3])
    with pytest.raises(TypeError, match="integers"):
        decam.quantus_explain(net, x, np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="4 dimensions"):
        decam.quantus_explain(net, x[0], [1])
    with pytest.raises(decam.DecamError, match="did you mean budget"):
        decam.quantus_explain(net, x, [1, 2], budgt=100)


@needs_io
def test_a_uint8_image_means_the_same_in_render_panel_and_overlay():
    # One rule: uint8 pixels are bytes, 0..255 standing for [0, 1], in
    # every function that draws an image.
    image = scene(1)
    as_bytes = np.rint(image * 255).astype(np.uint8)
    saliency = np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    floats = decam.render_panel(as_bytes.astype(np.float32) / 255, saliency)
    assert decam.render_panel(as_bytes, saliency).tobytes() == floats.tobytes()
    assert np.abs(decam.render_panel(image, saliency).astype(int) - floats).max() <= 1
    assert decam.overlay(as_bytes, saliency).tobytes() == \
        decam.overlay(as_bytes.astype(np.float32) / 255, saliency).tobytes()
