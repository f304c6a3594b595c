"""test_collect_torch.py - the CSV-writing part of kernels/collect_torch.py,
run with python3 alone (no torch, no GPU): the header matches sim/measure.h,
rows carry the shapes worked out by hand below, bad rows are refused as the
loader (sim/measure.c) would refuse them, and numbers read back exactly.

Run: python3 -m unittest discover -s tests -p 'test_*.py' (make check does)."""

import io
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "kernels"))
import collect_torch as ct  # noqa: E402


class TestFormat(unittest.TestCase):
    def test_header_is_measure_h_plus_impl(self):
        # sim/measure.h MEAS_HEADER, typed out, and the impl column after it
        self.assertEqual(ct.HEADER,
                         "kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,"
                         "count,m,n,k,flops,bytes,median_s,min_s,impl")

    def test_module_does_not_import_torch(self):
        self.assertNotIn("torch", sys.modules)

    def test_decode_attention_row(self):
        # Llama-3-8B decode, B = 2 at context 4095: the new token sees 4096
        # keys; pairs = 1*4095 + 1*2/2 = 4096; kv_width = 2*Hkv*D = 2*8*128
        r = ct.attention_row("attn_decode_fa2", "sdpa.B2.L4095", 2, 32, 8, 128, 1, 4095,
                             2.5e-5, 2.4e-5, impl="fa2")
        self.assertEqual((r["b"], r["hq"], r["dqk"], r["dv"], r["sq"], r["skv"], r["pairs"],
                          r["kv_width"]), ("2", "32", "128", "128", "1", "4096", "4096", "2048"))
        self.assertEqual((r["kind"], r["impl"], r["median_s"], r["min_s"]),
                         ("attention", "fa2", "2.5e-05", "2.4e-05"))

    def test_prefill_pairs(self):
        # causal prefill of 16: 16*17/2 = 136 pairs
        r = ct.attention_row("p", "s", 1, 4, 4, 64, 16, 0)
        self.assertEqual((r["skv"], r["pairs"], r["kv_width"]), ("16", "136", "512"))

    def test_gemm_rows(self):
        g = ct.gemm_row("gemm_decode", "qkv_proj.T8", 8, 6144, 4096, 1e-5, 9e-6)
        self.assertEqual((g["kind"], g["m"], g["n"], g["k"], g["count"], g["impl"]),
                         ("gemm", "8", "6144", "4096", "", "cublas"))
        b = ct.gemm_row("c", "qk", 4, 1025, 128, 3e-5, count=16, impl="eager")
        self.assertEqual((b["kind"], b["count"]), ("batched_gemm", "16"))

    def test_pointwise_and_composition(self):
        p = ct.pointwise_row("copy", "copy_to_fp32", "to_fp32.T4.c4096", 4, 4096, 2e-6,
                             out_dtype="fp32")
        self.assertEqual((p["m"], p["n"], p["dtype"], p["kv_dtype"], p["impl"]),
                         ("4", "4096", "bf16", "fp32", "eager"))
        plus = ct.pointwise_row("+softmax", "attn_decode_eager", "x.softmax", 64, 1025)
        self.assertEqual((plus["kind"], plus["median_s"]), ("+softmax", ""))
        with self.assertRaises(ct.RowError):  # a '+' row has no time of its own
            ct.pointwise_row("+softmax", "c", "x", 64, 1025, 1e-5)

    def test_launch_and_step(self):
        l = ct.launch_row("add.graph200", 2.1e-6, 2.0e-6, "graph")
        self.assertEqual((l["kind"], l["class"], l["impl"], l["dtype"]),
                         ("launch", "launch_graph", "graph", ""))
        s = ct.step_row("layer_decode_hf", "llama.hf.L1.B16.L2048", 16, 1, 2048, 1, 1e-3,
                        mode="graph")
        self.assertEqual((s["kind"], s["b"], s["sq"], s["skv"], s["count"], s["impl"]),
                         ("step", "16", "1", "2049", "1", "graph"))

    def test_refused_rows(self):
        bad = [
            lambda: ct.row("gemm", "has space", "n", m=1, n=1, k=1),        # class characters
            lambda: ct.row("gemm", "c", "x" * 64, m=1, n=1, k=1),          # name too long
            lambda: ct.row("matmul", "c", "n"),                             # unknown kind
            lambda: ct.row("gemm", "c", "n", dtype="bf17", m=1, n=1, k=1),  # dtype
            lambda: ct.gemm_row("c", "n", 2 ** 31 + 1, 1, 1),              # size > 2^31
            lambda: ct.gemm_row("c", "n", 1, 1, 1, median_s=5e-10),         # below 1 ns
            lambda: ct.gemm_row("c", "n", 1, 1, 1, median_s=1e-5, min_s=2e-5),
            lambda: ct.launch_row("l", 1e-6, mode="cublas"),               # launch impl
            lambda: ct.gemm_row("c", "n", 1, 1, 1, impl="cutlass"),         # unknown impl
            lambda: ct.row("gemm", "c", "n", mm=3),                         # unknown column
        ]
        for i, f in enumerate(bad):
            with self.assertRaises(ct.RowError, msg="case %d" % i):
                f()

    def test_numbers_read_back_exactly(self):
        for v in (1e-9, 2.5e-05, 0.1, 1 / 3, 123456789.125, 2 ** 31):
            self.assertEqual(float(ct.fmt_num(v)), v)
        self.assertEqual(ct.fmt_num(3.0), "3")
        self.assertEqual(ct.fmt_num(None), "")
        with self.assertRaises(ct.RowError):
            ct.fmt_num(float("nan"))

    def test_write_csv(self):
        buf = io.StringIO()
        rows = [ct.gemm_row("g", "a", 1, 2, 3, 1e-5), ct.launch_row("l", 3e-6)]
        ct.write_csv(buf, rows, ["device: TEST GPU"])
        lines = buf.getvalue().splitlines()
        self.assertEqual(lines[0], "# device: TEST GPU")
        self.assertEqual(lines[1], ct.HEADER)
        self.assertEqual(lines[2], "gemm,g,a,bf16,,,,,,,,,,,1,2,3,,,1e-05,,cublas")
        self.assertEqual(lines[3], "launch,launch_eager,l,,,,,,,,,,,,,,,,,3e-06,,eager")
        self.assertEqual(len(lines), 4)

    def test_shapes_from_config(self):
        # a config.json as Hugging Face writes it (Llama-3-8B's numbers)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,'
                    ' "intermediate_size": 14336, "num_hidden_layers": 32, "model_type": "llama"}')
        try:
            s = ct.Shapes.from_config(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual((s.h, s.H, s.Hkv, s.D, s.I, s.layers), (4096, 32, 8, 128, 14336, 32))
        # qkv n = (H + 2 Hkv) D = 48*128 = 6144; down k = I
        g = dict((n, (nn, k)) for n, nn, k in s.gemms())
        self.assertEqual(g["qkv_proj"], (6144, 4096))
        self.assertEqual(g["down_proj"], (4096, 14336))


class TestLoader(unittest.TestCase):
    """The rows the loader knows (every kind but step) load in opbound, when
    the built opbound reads the impl column (sim/measure.c); else skipped."""

    def test_opbound_reads_the_file(self):
        exe = os.path.join(ROOT, "build", "opbound")
        if not os.path.exists(exe):
            self.skipTest("build/opbound not built")
        rows = [ct.gemm_row("gemm_decode", "qkv.T8", 8, 6144, 4096, 1.2e-5, 1.1e-5),
                ct.attention_row("attn_decode_fa2", "sdpa", 2, 32, 8, 128, 1, 4095, 3e-5,
                                 impl="fa2"),
                ct.pointwise_row("elementwise", "ew_add", "add", 4, 4096, 2e-6, inputs=2,
                                 flops_per_elem=1),
                ct.launch_row("add.x200", 4e-6)]
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            ct.write_csv(f, rows, ["device: test"])
        try:
            p = subprocess.run([exe, "validate", f.name, "--hw", "h100"], cwd=ROOT,
                               capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        if p.returncode != 0 and ("header" in p.stderr or "unknown kind" in p.stderr):
            self.skipTest("this opbound does not read the impl column or pointwise rows yet: "
                          + p.stderr.strip().splitlines()[0])
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
