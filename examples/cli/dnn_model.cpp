/*
 * dnn_model.cpp - decam-explain's OpenCV DNN backend (see dnn_model.h).
 *
 * C++ because OpenCV's DNN API is; everything here is reached through the
 * C functions of dnn_model.h, each of which catches every exception.
 */
#include "dnn_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

struct dnn_model {
    dnn_options opt;
    cv::dnn::Net net;
    cv::Mat blob, out;             /* reused from batch to batch */
    std::vector<cv::String> heads; /* the unconnected output layers (all_outputs) */
    int row;                       /* dnn_row_length() */
    std::vector<int> shape;        /* dnn_output_shape() */
};

static void set_error(char *err, size_t errlen, const std::string &what) {
    if (!err || !errlen) return;
    /* One line: OpenCV's messages span several. */
    std::string line;
    for (char c : what) {
        if (c == '\n' || c == '\r') {
            if (!line.empty() && line.back() != ' ') line += ' ';
        } else
            line += c;
    }
    std::snprintf(err, errlen, "%s", line.c_str());
}

/* OpenCV's ONNX importer names the node it failed on as
 * "Node [Type@domain]:(onnx_node!name) parse error: reason". */
static std::string explain_import_error(const std::string &msg) {
    const std::string tag = "Node [";
    size_t at = msg.find(tag);
    if (at == std::string::npos) return msg;
    size_t type_end = msg.find_first_of("@]", at + tag.size());
    size_t name_at = msg.find("onnx_node!", at);
    size_t name_end = name_at == std::string::npos ? name_at : msg.find(')', name_at);
    if (type_end == std::string::npos || name_end == std::string::npos) return msg;
    std::string type = msg.substr(at + tag.size(), type_end - at - tag.size());
    std::string name = msg.substr(name_at + 10, name_end - name_at - 10);
    std::string reason;
    /* The innermost reason: after the last "error: " of the first line. */
    std::string rest = msg.substr(name_end);
    size_t nl = rest.find('\n');
    if (nl != std::string::npos) rest.resize(nl);
    size_t r = rest.rfind("error: ");
    if (r != std::string::npos) reason = rest.substr(r + 7);
    std::string out = "OpenCV " CV_VERSION " cannot import node '" + name + "' (" + type + ")";
    if (!reason.empty()) out += ": " + reason;
    if (type == "Identity")
        out += "; examples/onnx_strip_identity.py removes Identity nodes (docs/cli.md)";
    else
        out += " (docs/cli.md, \"Models OpenCV cannot read\")";
    return out;
}

extern "C" dnn_model *dnn_open(const dnn_options *opt, char *err, size_t errlen) {
    dnn_model *m = nullptr;
    try {
        /* OpenCV logs import errors to stderr itself; the message we return
         * says it once, on one line. */
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        m = new dnn_model();
        m->opt = *opt;
        if (opt->darknet)
            m->net = cv::dnn::readNetFromDarknet(opt->config, opt->model);
        else
            m->net = cv::dnn::readNet(opt->model, opt->config ? opt->config : "");
        if (m->net.empty()) {
            set_error(err, errlen, "OpenCV read no network");
            delete m;
            return nullptr;
        }
        if (opt->all_outputs) m->heads = m->net.getUnconnectedOutLayersNames();
        return m;
    } catch (const cv::Exception &e) {
        set_error(err, errlen, explain_import_error(e.msg));
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    }
    delete m;
    return nullptr;
}

extern "C" void dnn_close(dnn_model *m) { delete m; }

extern "C" int dnn_row_length(const dnn_model *m) { return m->row; }

extern "C" int dnn_output_shape(const dnn_model *m, int *dims, int max) {
    const int n = (int)m->shape.size();
    for (int i = 0; i < n && i < max; i++)
        dims[i] = m->shape[(size_t)i];
    return n;
}

/* The last dimension of an output, its rows' length. */
static int last_dim(const cv::Mat &a) { return a.dims >= 2 ? a.size[a.dims - 1] : (int)a.total(); }

/* Every head's output, each image's rows of all heads back to back
 * (image-major): n x (sum of the heads' values per image). */
static bool forward_heads(dnn_model *m, size_t n, char *err, size_t errlen) {
    std::vector<cv::Mat> outs;
    m->net.forward(outs, m->heads);
    size_t per_image = 0;
    m->row = outs.empty() ? 0 : last_dim(outs[0]);
    for (const cv::Mat &o : outs) {
        if (o.type() != CV_32F || o.total() % n != 0) {
            set_error(err, errlen,
                      "an output layer gave " + std::to_string(o.total()) + " values for " +
                          std::to_string(n) + " images");
            return false;
        }
        if (last_dim(o) != m->row) m->row = 0;
        per_image += o.total() / n;
    }
    m->out.create((int)n, (int)per_image, CV_32F);
    for (size_t i = 0; i < n; i++) {
        float *dst = m->out.ptr<float>((int)i);
        for (const cv::Mat &o : outs) {
            const size_t k = o.total() / n;
            const cv::Mat c = o.isContinuous() ? o : o.clone();
            std::memcpy(dst, c.ptr<float>() + i * k, k * sizeof(float));
            dst += k;
        }
    }
    return true;
}

extern "C" void dnn_set_threads(int n) {
    try {
        cv::setNumThreads(n);
    } catch (...) {
    }
}

/* n planar RGB images in [0,1] -> the network's input blob, preprocessed,
 * N x 3 x H x W or N x H x W x 3. */
static void make_blob(dnn_model *m, const float *images, size_t n) {
    const dnn_options &o = m->opt;
    const size_t plane = (size_t)o.width * o.height;
    const int nchw[4] = {(int)n, 3, o.height, o.width};
    const int nhwc[4] = {(int)n, o.height, o.width, 3};
    m->blob.create(4, o.nhwc ? nhwc : nchw, CV_32F); /* allocates only when n changes */
    float *dst = m->blob.ptr<float>();
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            const float *src = images + (i * 3 + (o.bgr ? 2 - c : c)) * plane;
            const float scale = o.scale, mean = o.mean[c], sd = o.std[c];
            if (o.nhwc) {
                float *d = dst + i * 3 * plane + c;
                for (size_t j = 0; j < plane; j++)
                    d[3 * j] = (src[j] * scale - mean) / sd;
            } else {
                float *d = dst + (i * 3 + c) * plane;
                for (size_t j = 0; j < plane; j++)
                    d[j] = (src[j] * scale - mean) / sd;
            }
        }
}

static void softmax_rows(cv::Mat &out) {
    for (int i = 0; i < out.rows; i++) {
        float *r = out.ptr<float>(i);
        float top = *std::max_element(r, r + out.cols);
        double sum = 0;
        for (int k = 0; k < out.cols; k++)
            sum += r[k] = std::exp(r[k] - top);
        for (int k = 0; k < out.cols; k++)
            r[k] = (float)(r[k] / sum);
    }
}

extern "C" const float *dnn_forward(dnn_model *m, const float *images, size_t n, int *outputs,
                                    char *err, size_t errlen) {
    try {
        make_blob(m, images, n);
        m->net.setInput(m->blob);
        if (!m->heads.empty()) {
            if (!forward_heads(m, n, err, errlen)) return nullptr;
            *outputs = m->out.cols;
            return m->out.ptr<float>();
        }
        cv::Mat raw = m->net.forward();
        if (raw.type() != CV_32F || raw.total() % n != 0) {
            set_error(err, errlen,
                      "the network gave " + std::to_string(raw.total()) + " values for " +
                          std::to_string(n) +
                          " images (use --batch 1 for a model with a "
                          "fixed batch size)");
            return nullptr;
        }
        /* (n, k) whatever the trailing dimensions; a copy, so that the
         * softmax never writes into the network's own memory. */
        m->row = last_dim(raw);
        m->shape.assign(raw.size.p, raw.size.p + raw.dims);
        raw.reshape(1, (int)n).copyTo(m->out);
        if (m->opt.softmax) softmax_rows(m->out);
        *outputs = m->out.cols;
        return m->out.ptr<float>();
    } catch (const cv::Exception &e) {
        set_error(err, errlen, e.msg);
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    }
    return nullptr;
}
