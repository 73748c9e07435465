#!/usr/bin/env python3
"""onnx_server.py - a small inference server: an ONNX classifier run by
OpenCV's DNN module behind HTTP (the standard library's http.server).

    python3 examples/python/onnx_server.py --model examples/real/mobilenet_v1_025_224.onnx --port 8000

It listens on 127.0.0.1 only (port 0: any free port; the line
"onnx_server: listening on http://127.0.0.1:PORT" says which) and answers

    POST /score   body: a float32 batch as a .npy file (numpy.save), shape
                  (n, C, H, W) as the model takes it (MobileNet of the
                  real-model set: (n, 3, 224, 224) RGB in [0, 1])
                  reply: the scores as a .npy file, float32 (n, outputs)
    GET /health   reply: "ok"

Errors come back as 400 (a body that is not such a batch, larger than
--max-bytes, more than --max-batch images) or 500 (the model failed), with
a one-line text body. Requests run in parallel, each on a network of its
own (OpenCV's Net is not shared between threads).

async_client.py is a client that explains images with it through
Explainer.explain_async(). From Python, make_server() gives the server
without starting it (tests/python/test_server.py does that):

    server = make_server("model.onnx", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.shutdown(); server.server_close()
"""
import argparse
import http.server
import io
import queue
import sys

import numpy as np

try:
    import cv2
except ImportError:  # reported by make_server()
    cv2 = None

HOST = "127.0.0.1"


class Scorer:
    """The model: float32 (n, C, H, W) -> (n, k). OpenCV's Net is not shared
    between threads, so each request takes a network from a pool (made on
    demand: as many as requests ran at once) and puts it back."""

    def __init__(self, path):
        self.path = str(path)
        self.free = queue.SimpleQueue()
        self.free.put(cv2.dnn.readNet(self.path))  # fails here, at start, for a bad file

    def forward(self, batch):
        try:
            net = self.free.get_nowait()
        except queue.Empty:
            net = cv2.dnn.readNet(self.path)
        try:
            net.setInput(batch)
            return np.ascontiguousarray(net.forward().reshape(len(batch), -1), dtype=np.float32)
        finally:
            self.free.put(net)


def _npy(array):
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "decam-onnx-server/1"

    def log_message(self, format, *args):  # quiet unless --verbose
        if self.server.verbose:
            super().log_message(format, *args)

    def reply(self, code, body, content_type="application/octet-stream"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, code, message):
        self.reply(code, (message + "\n").encode(), "text/plain; charset=utf-8")

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, b"ok\n", "text/plain; charset=utf-8")
        else:
            self.fail(404, f"no such path: {self.path} (POST /score, GET /health)")

    def do_POST(self):
        if self.path != "/score":
            self.fail(404, f"no such path: {self.path} (POST /score, GET /health)")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.fail(411, "a Content-Length header is needed")
            return
        if not 0 < length <= self.server.max_bytes:
            self.close_connection = True  # the body is not read
            self.fail(400, f"the body is {length} bytes; at most {self.server.max_bytes}")
            return
        body = self.rfile.read(length)
        try:
            batch = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            self.fail(400, f"the body is not a .npy array: {e}")
            return
        limit = self.server.max_batch
        if batch.dtype != np.float32 or batch.ndim != 4 or not 0 < len(batch) <= limit:
            self.fail(400, f"expected float32 (n, C, H, W) with 1 <= n <= {limit}, "
                      f"got {batch.dtype} {batch.shape}")
            return
        try:
            scores = self.server.scorer.forward(np.ascontiguousarray(batch))
        except cv2.error as e:
            self.fail(500, f"the model failed: {str(e).strip().splitlines()[-1]}")
            return
        self.reply(200, _npy(scores))


def make_server(model, port=0, max_batch=1024, max_bytes=1 << 30, verbose=False):
    """An HTTP server on 127.0.0.1:port (0: any free port; see
    server.server_address) serving `model` (an ONNX file). Not started:
    call serve_forever(), and shutdown() and server_close() to stop it."""
    if cv2 is None:
        raise RuntimeError("OpenCV's Python module (python3-opencv) is not installed")
    scorer = Scorer(model)
    server = http.server.ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    server.scorer, server.max_batch, server.max_bytes, server.verbose = (
        scorer, max_batch, max_bytes, verbose)
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="an ONNX (or Caffe, ...) file cv2.dnn reads")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (default 1)")
    ap.add_argument("--max-batch", type=int, default=1024)
    ap.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = ap.parse_args()
    if cv2 is None:
        sys.exit("onnx_server: OpenCV's Python module (python3-opencv) is not installed")
    cv2.setNumThreads(args.threads)
    try:
        server = make_server(args.model, args.port, args.max_batch, verbose=args.verbose)
    except (cv2.error, OSError) as e:
        sys.exit(f"onnx_server: {args.model}: {str(e).strip().splitlines()[-1]}")
    print(f"onnx_server: listening on http://{HOST}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
