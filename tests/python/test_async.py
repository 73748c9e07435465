"""Explainer.explain_async() (issue #15): explanations awaited together
overlap the model's latency, each in a private context with the
explainer's parameters, and give the maps of the synchronous explain();
exceptions and cancellation abandon the run and leave the explainer
usable. Needs NumPy."""
import asyncio
import time

import pytest

from test_binding import NO_NUMPY

pytestmark = pytest.mark.skipif(bool(NO_NUMPY), reason=str(NO_NUMPY))
if not NO_NUMPY:
    import numpy as np

    import decam
    from many_models import SMALL, Regions, scene

LATENCY = 0.05  # seconds per model call: a slow server


class SlowModel:
    """Regions behind an awaited latency; counts the calls in flight."""

    def __init__(self, latency=LATENCY, layout="hwc"):
        self.regions, self.latency = Regions(layout), latency
        self.in_flight = self.most_in_flight = 0

    async def __call__(self, batch):
        scores = self.regions(batch)  # read now: the batch is valid until the call returns
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        return scores


def run(coroutine):
    return asyncio.run(coroutine)


def test_gathered_explanations_overlap_the_latency_and_match_explain():
    images = [scene(s) for s in range(4)]
    targets = [0, 1, 2, 1]
    model = SlowModel()
    ex = decam.Explainer(Regions(), seed=5, **SMALL)

    async def serial():
        return [await ex.explain_async(img, model, targets=t) for img, t in zip(images, targets)]

    async def gathered():
        return await asyncio.gather(*(ex.explain_async(img, model, targets=t)
                                      for img, t in zip(images, targets)))

    t0 = time.perf_counter()
    one_by_one = run(serial())
    t1 = time.perf_counter()
    together = run(gathered())
    t2 = time.perf_counter()
    ratio = (t2 - t1) / (t1 - t0)
    print(f"\n    4 explanations, {LATENCY * 1000:.0f} ms per call: serial {t1 - t0:.2f} s, "
          f"gathered {t2 - t1:.2f} s (ratio {ratio:.2f}); at most {model.most_in_flight} "
          "calls in flight", end=" ")
    assert ratio < 0.5, f"gathered {t2 - t1:.2f} s against serial {t1 - t0:.2f} s"
    assert model.most_in_flight == 4
    for img, t, a, b in zip(images, targets, one_by_one, together):
        sync = ex.explain(img, t)
        assert a.tobytes() == b.tobytes() == sync.tobytes()
    ex.close()


def test_batches_lists_and_targets_as_explain():
    images = np.stack([scene(s) for s in range(2)])
    with decam.Explainer(Regions(), **SMALL) as ex:
        for targets in (None, 1, [0, 2], [[0, 1], [2, 0]], "top-2"):
            got = run(ex.explain_async(images, SlowModel(0.0), targets=targets))
            assert got.tobytes() == ex.explain(images, targets).tobytes(), targets
        listed = run(ex.explain_async([scene(0), scene(1, 40, 56)], SlowModel(0.0), 0))
        assert [m.shape for m in listed] == [(48, 48), (40, 56)]


def test_the_private_context_has_the_explainer_s_parameters_and_inputs():
    image = scene(2, layout="chw")
    baseline = np.full_like(image, 0.25)
    prior = np.zeros((5, 5), np.float32)
    prior[1:3, 1:3] = 1
    ex = decam.Explainer(Regions("chw"), layout="chw", baseline="image", init="prior",
                         objective="delete", seed=11, **SMALL)
    ex.set_baseline_image(baseline)
    ex.set_prior_map(prior)
    got = run(ex.explain_async(image, SlowModel(0.0, "chw"), targets=0))
    assert got.tobytes() == ex.explain(image, 0).tobytes()
    ex.set_param("seed", 12)  # parameters are read when the call starts
    assert run(ex.explain_async(image, SlowModel(0.0, "chw"), 0)).tobytes() == \
        ex.explain(image, 0).tobytes()


def test_a_plain_callable_model_works_too():
    with decam.Explainer(Regions(), **SMALL) as ex:
        got = run(ex.explain_async(scene(0), Regions(), 1))
        assert got.tobytes() == ex.explain(scene(0), 1).tobytes()


class Boom(Exception):
    pass


def test_an_exception_of_the_model_goes_on_and_the_others_finish():
    slow = SlowModel(0.01)

    async def failing(batch):
        if slow.regions.calls >= 6:
            raise Boom("the server is gone")
        return await slow(batch)

    ex = decam.Explainer(Regions(), **SMALL)

    async def both():
        return await asyncio.gather(ex.explain_async(scene(0), failing, 0),
                                    ex.explain_async(scene(1), SlowModel(0.01), 0),
                                    return_exceptions=True)

    bad, good = run(both())
    assert isinstance(bad, Boom)
    assert good.tobytes() == ex.explain(scene(1), 0).tobytes()
    assert not ex._clones, "every private explainer was closed"


def test_cancelling_the_task_abandons_the_run():
    model = SlowModel(0.02)
    ex = decam.Explainer(Regions(), **SMALL)

    async def cancel_soon():
        task = asyncio.ensure_future(ex.explain_async(scene(0), model, 0))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancel_soon())
    assert not ex._clones
    assert ex.explain(scene(0), 0).shape == (48, 48), "usable"


def test_closing_the_explainer_stops_its_calls():
    ex = decam.Explainer(Regions(), **SMALL)
    model = SlowModel(0.02)

    async def close_soon():
        task = asyncio.ensure_future(ex.explain_async(scene(0), model, 0))
        await asyncio.sleep(0.1)
        ex.close()
        with pytest.raises(decam.Cancelled, match="closed"):
            await task

    run(close_soon())
    with pytest.raises(ValueError, match="closed"):
        run(ex.explain_async(scene(0), model, 0))


def test_wrong_arguments_raise_before_the_model_is_called():
    model = SlowModel(0.0)
    ex = decam.Explainer(Regions(), n_outputs=3, **SMALL)
    with pytest.raises(TypeError, match="callable"):
        run(ex.explain_async(scene(0), "http://model", 0))
    with pytest.raises(ValueError, match="entries"):
        run(ex.explain_async(np.stack([scene(0), scene(1)]), model, [0]))
    assert model.regions.calls == 0
