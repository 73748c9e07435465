"""A real inference server (examples/python/onnx_server.py: http.server and
OpenCV DNN on 127.0.0.1, port 0) and its async client
(examples/python/async_client.py) explain two photographs of the
real-model set together with explain_async(): the maps are sane and the
very maps of explaining with the same model in this process. The server
runs in a thread of this process and is stopped at the end; all traffic
goes to 127.0.0.1. Skipped when the set or OpenCV's Python module is
absent."""
import asyncio
import importlib.util
import threading

import pytest

from realdata import MISSING
from test_binding import SRC

pytestmark = pytest.mark.skipif(bool(MISSING), reason=str(MISSING))
if not MISSING:
    import numpy as np

    import decam
    from realdata import DATA, ENTRIES, ONNX, Model, bench_real, prepare

BUDGET = 100
IMAGES = (0, 1)  # the choosing half
TIMEOUT = 60  # seconds for any one request


def example(name):
    spec = importlib.util.spec_from_file_location(name, SRC / "examples" / "python" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server():
    bench_real.cv2.setNumThreads(1)  # the server's networks and the in-process one alike
    srv = example("onnx_server").make_server(ONNX, port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_explain_async_through_the_server_matches_the_model_in_process(server):
    client = example("async_client")
    remote = client.RemoteModel(server, timeout=TIMEOUT)
    images = [prepare(DATA / ENTRIES[i]["file"]) for i in IMAGES]
    labels = [ENTRIES[i]["class_index"] for i in IMAGES]
    params = dict(layout="chw", budget=BUDGET, seed=3, batch_size=48)

    async def both():
        with decam.Explainer(remote, **params) as ex:
            return await asyncio.wait_for(asyncio.gather(
                *(ex.explain_async(img, remote, targets=t) for img, t in zip(images, labels))),
                timeout=len(images) * BUDGET)

    maps = asyncio.run(both())
    assert remote.calls >= 2 * BUDGET // 48
    with decam.Explainer(Model(ONNX), n_outputs=1000, **params) as ex:
        local = ex.explain(images, targets=labels)
    for i, (m, ref) in enumerate(zip(maps, local)):
        assert m.shape == (224, 224) and m.dtype == np.float32
        assert np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1
        assert m.max() - m.min() > 0.5, f"image {i}: a flat map"
        assert m.tobytes() == ref.tobytes(), f"image {i}: max difference {np.abs(m - ref).max()}"


def test_the_server_refuses_what_is_not_a_batch(server):
    remote = example("async_client").RemoteModel(server, timeout=TIMEOUT)
    with pytest.raises(RuntimeError, match="400.*float32 \\(n, C, H, W\\)"):
        asyncio.run(remote(np.zeros((2, 3), np.float32)))
    scores = asyncio.run(remote(np.zeros((2, 3, 224, 224), np.float32)))
    assert scores.shape == (2, 1000) and scores.dtype == np.float32
