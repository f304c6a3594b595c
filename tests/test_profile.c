/* test_profile.c - implementation profiles (models/profile.h): the bundled
 * hf and engine decompositions and eager attention, a user profile file, the
 * default profile keeping the lowering unchanged, and malformed files. Every
 * byte count is worked out by hand in the comments from the kernel lists in
 * docs/profiles.md. */
#include "testutil.h"

#include "../models/profile.h"
#include "../sim/core/catalog.h"

static struct profile *load_profile(const char *path)
{
    struct profile *p = NULL;
    struct err e;
    if (profile_load(path, &p, &e)) {
        err_print(&e, stderr);
        fail_msg("profile %s did not load", path);
    }
    return p;
}

static struct profile *bundled(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/profiles/%s.yaml", OB_DATADIR, name);
    return load_profile(path);
}

static void lower(const struct model *m, const struct profile *p, struct graph *g, enum phase ph,
                  double b, double len)
{
    struct step st = {.phase = ph, .batch = b, .q_len = ph == PHASE_PREFILL ? len : 1,
                      .ctx_prior = ph == PHASE_PREFILL ? 0 : len, .tp = 1, .dt_w = m->dt_w,
                      .dt_act = m->dt_act, .dt_kv = m->dt_kv, .profile = p};
    assert_int_equal(graph_init(g, model_max_ops(m)), 0);
    model_lower(m, &st, g);
}

static const struct op *find(const struct graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->ops[i].name, name) == 0) return &g->ops[i];
    fail_msg("no op %s", name);
    return NULL;
}

static double rd(const struct op *op) { return op->cost.bytes_w + op->cost.bytes_act + op->cost.bytes_kv; }

/* Ops of the first layer group whose name starts with prefix: count and the
 * bytes read + written. */
static int sum_prefix(const struct graph *g, const char *prefix, double *bytes)
{
    int n = 0;
    *bytes = 0;
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != 0 || strncmp(op->name, prefix, strlen(prefix)) != 0) continue;
        n++;
        *bytes += rd(op) + op->cost.bytes_out;
    }
    return n;
}

/* hf RMSNorm (LlamaRMSNorm.forward) over T x h in bf16, Llama-3-8B prefill of
 * one 4-token prompt: T = 4, h = 4096, Th = 16,384 elements, bf16 2 B, fp32
 * 4 B. Per kernel (read / written, bytes):
 *   to_fp32    2Th = 32,768      / 4Th = 65,536
 *   pow        65,536            / 65,536
 *   mean       65,536            / 4T = 16
 *   add_eps    16                / 16
 *   rsqrt      16                / 16
 *   mul_rstd   65,536 + 16       / 65,536
 *   to_act     65,536            / 2Th = 32,768
 *   mul_weight 2h = 8,192 (weights) + 32,768 / 32,768
 * total = 36Th + 24T + 2h = 589,824 + 96 + 8,192 = 598,112 bytes, against
 * 4Th + 2h = 73,728 for the fused op. */
static void test_profile_hf_rmsnorm_bytes(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct profile *p = bundled("hf");
    struct graph g;
    lower(m, p, &g, PHASE_PREFILL, 1, 4);
    static const struct {
        const char *name;
        double rd, w, out;
    } K[] = {
        {"attn_norm.to_fp32", 32768, 0, 65536}, {"attn_norm.pow", 65536, 0, 65536},
        {"attn_norm.mean", 65536, 0, 16},       {"attn_norm.add_eps", 16, 0, 16},
        {"attn_norm.rsqrt", 16, 0, 16},         {"attn_norm.mul_rstd", 65552, 0, 65536},
        {"attn_norm.to_act", 65536, 0, 32768},  {"attn_norm.mul_weight", 40960, 8192, 32768},
    };
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++) {
        const struct op *op = find(&g, K[i].name);
        assert_exact(rd(op), K[i].rd);
        assert_exact(op->cost.bytes_w, K[i].w);
        assert_exact(op->cost.bytes_out, K[i].out);
        assert_int_equal(op->impl, IMPL_EAGER);
    }
    double total;
    assert_int_equal(sum_prefix(&g, "attn_norm.", &total), 8);
    assert_exact(total, 598112);
    /* fp32 intermediates: the cast's compute dtype is fp32 */
    assert_int_equal(find(&g, "attn_norm.pow")->dt_act, DT_FP32);
    /* GEMMs no role rewrites carry the profile's gemm implementation */
    assert_int_equal(find(&g, "o_proj")->impl, IMPL_CUBLAS);
    /* SDPA: the fused core tagged fa2, then the transpose copy of
     * T x H x D = 4 x 32 x 128 = 16,384 elements: 32,768 B read and written */
    assert_int_equal(find(&g, "attention")->impl, IMPL_FA2);
    assert_exact(rd(find(&g, "attention.out_transpose")), 32768);
    /* q, k, v as three GEMMs: q_proj 2*T*h*H*D = 2*4*4096*4096 = 134,217,728 */
    assert_exact(find(&g, "qkv_proj.q_proj")->cost.flops_mm, 134217728.0);
    graph_free(&g);
    profile_free(p);
    model_free(m);
}

/* Eager attention (default profile, --impl attention=eager), Llama-3-8B
 * (H = 32, Hkv = 8, D = 128), prefill B = 2, S = 16 (L = 16 keys):
 * scores B*H*S*L = 2*32*16*16 = 16,384 elements: QK^T writes 32,768 B
 * (bf16); softmax reads 32,768 and writes 65,536 (fp32); the cast reads
 * 65,536 and writes 32,768; P.V reads the 32,768 B of scores plus V repeated
 * to H heads, B*H*L*D = 131,072 elements = 262,144 B. QK^T FLOPs
 * 2*B*H*S*L*D = 4,194,304. repeat_k reads B*Hkv*L*D = 32,768 elements of the
 * cache (65,536 B) and writes B*H*L*D = 131,072 (262,144 B). */
static void test_profile_eager_attention_scores(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct profile *p = bundled("default");
    struct err e;
    assert_int_equal(profile_set_impl(p, "attention=eager", "--impl", &e), 0);
    struct graph g;
    lower(m, p, &g, PHASE_PREFILL, 2, 16);
    assert_exact(find(&g, "attention.qk")->cost.bytes_out, 32768);
    assert_exact(find(&g, "attention.qk")->cost.flops_mm, 4194304);
    assert_int_equal(find(&g, "attention.qk")->kind, OP_BATCHED_GEMM);
    assert_exact(rd(find(&g, "attention.softmax")), 32768);
    assert_exact(find(&g, "attention.softmax")->cost.bytes_out, 65536);
    assert_int_equal(find(&g, "attention.softmax")->kind, OP_SOFTMAX);
    assert_exact(rd(find(&g, "attention.to_act")), 65536);
    assert_exact(find(&g, "attention.to_act")->cost.bytes_out, 32768);
    assert_exact(rd(find(&g, "attention.pv")), 32768 + 262144);
    assert_exact(find(&g, "attention.repeat_k")->cost.bytes_kv, 65536);
    assert_exact(find(&g, "attention.repeat_k")->cost.bytes_out, 262144);
    double b;
    assert_int_equal(sum_prefix(&g, "attention.", &b), 8); /* no fused core left */
    for (int i = 0; i < g.n; i++) assert_true(g.ops[i].kind != OP_ATTENTION);
    graph_free(&g);
    profile_free(p);
    model_free(m);
}

/* MHA (H = Hkv): repeat_kv returns its input, so the copies write 0
 * elements and no kernel is launched (docs/profiles.md). */
static void test_profile_eager_mha_no_repeat(void **state)
{
    (void)state;
    const char *path = tu_write_temp("name: tiny-mha\nhidden: 256\nlayers: 2\nvocab: 1000\ntied_embeddings: false\n"
                                     "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
                                     "groups:\n  - repeat: 2\n    attention: {kind: mha, heads: 4, "
                                     "head_dim: 64}\n    ffn: {kind: swiglu, intermediate: 512}\n");
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) {
        err_print(&e, stderr);
        fail();
    }
    unlink(path);
    struct profile *p = bundled("default");
    assert_int_equal(profile_set_impl(p, "attention=eager", "--impl", &e), 0);
    struct graph g;
    lower(m, p, &g, PHASE_DECODE, 1, 7);
    for (int i = 0; i < g.n; i++) assert_null(strstr(g.ops[i].name, "repeat_"));
    /* decode at context 7: L = 8 keys, scores B*H*S*L = 1*4*1*8 = 32 (64 B) */
    assert_exact(find(&g, "attention.qk")->cost.bytes_out, 64);
    graph_free(&g);
    profile_free(p);
    model_free(m);
}

/* The engine profile: the residual add is fused into the next RMSNorm (no
 * residual op), which reads x and the residual (2 x Th x 2 B) and the weight
 * (2h) and writes both: T = 4: read 65,536 + 8,192, written 65,536. */
static void test_profile_engine_fused_add_norm(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct profile *p = bundled("engine");
    struct graph g;
    lower(m, p, &g, PHASE_PREFILL, 1, 4);
    const struct op *n = find(&g, "ffn_norm.add_rmsnorm");
    assert_exact(n->cost.bytes_act, 65536);
    assert_exact(n->cost.bytes_w, 8192);
    assert_exact(n->cost.bytes_out, 65536);
    assert_int_equal(n->impl, IMPL_FUSED);
    for (int i = 0; i < g.n; i++) assert_null(strstr(g.ops[i].name, "residual"));
    assert_int_equal(find(&g, "silu_mul")->impl, IMPL_FUSED);
    assert_int_equal(find(&g, "attention")->impl, IMPL_FA2);
    graph_free(&g);
    struct err e;
    assert_int_equal(profile_set_impl(p, "attention=cudnn", "--impl", &e), 0);
    lower(m, p, &g, PHASE_PREFILL, 1, 4);
    assert_int_equal(find(&g, "attention")->impl, IMPL_CUDNN);
    graph_free(&g);
    profile_free(p);
    model_free(m);
}

/* A user profile (tests/data/profile-rope-arange.yaml): RoPE recomputed per
 * layer from an arange. Llama-3-8B prefill of 8 tokens: T = 8, H + Hkv = 40,
 * D = 128: X = T*(H+Hkv)*D = 40,960, Y = T*D/2 = 512 elements.
 *   arange   writes T fp32 = 32
 *   freqs    reads T*4 + (D/2)*4 = 288, writes 4Y = 2,048
 *   cos, sin each reads 2,048 and writes 2,048: 8,192 together
 *   mul_cos, mul_sin each reads 2X + 4Y = 83,968, writes 4X = 163,840
 *   combine  reads 8X = 327,680, writes 163,840
 *   stack    reads 163,840, writes 2X = 81,920
 * total 32 + 2,336 + 8,192 + 2*247,808 + 491,520 + 245,760 = 1,243,456. */
static void test_profile_user_file(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct profile *p = load_profile(OB_DATADIR "/tests/data/profile-rope-arange.yaml");
    assert_string_equal(profile_name(p), "rope-arange");
    struct graph g;
    lower(m, p, &g, PHASE_PREFILL, 1, 8);
    double total;
    assert_int_equal(sum_prefix(&g, "rope.", &total), 8);
    assert_exact(total, 1243456);
    /* roles the file leaves alone are today's ops */
    assert_int_equal(find(&g, "attn_norm")->kind, OP_NORM);
    assert_int_equal(find(&g, "attn_norm")->impl, IMPL_DEFAULT);
    graph_free(&g);
    profile_free(p);
    model_free(m);
}

/* The bundled default profile without --impl lowers exactly as no profile:
 * same ops, names, costs, implementations. */
static void test_profile_default_is_unchanged(void **state)
{
    (void)state;
    static const char *const models[] = {"llama-3-8b", "deepseek-v3", "gpt-oss-120b",
                                         "granite-4.0-h-tiny"};
    struct profile *p = bundled("default");
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        struct model *m = tu_model(models[k]);
        assert_non_null(m);
        for (int ph = 0; ph < 2; ph++) {
            struct graph a, b;
            lower(m, NULL, &a, ph ? PHASE_DECODE : PHASE_PREFILL, 3, 100);
            lower(m, p, &b, ph ? PHASE_DECODE : PHASE_PREFILL, 3, 100);
            assert_int_equal(a.n, b.n);
            for (int i = 0; i < a.n; i++) {
                assert_string_equal(a.ops[i].name, b.ops[i].name);
                assert_int_equal(a.ops[i].impl, IMPL_DEFAULT);
                assert_int_equal(b.ops[i].impl, IMPL_DEFAULT);
                assert_memory_equal(&a.ops[i].cost, &b.ops[i].cost, sizeof a.ops[i].cost);
            }
            graph_free(&a);
            graph_free(&b);
        }
        model_free(m);
    }
    profile_free(p);
}

/* Malformed profiles: FILE:LINE:COL and what is wrong. */
static void expect_error(const char *text, int line, int col, const char *what)
{
    struct profile *p = NULL;
    struct err e;
    assert_int_equal(profile_load_text("bad.yaml", text, strlen(text), &p, &e), -1);
    assert_null(p);
    if (!strstr(e.msg, what) || e.line != line || e.col != col)
        fail_msg("got %s:%d:%d: %s; want %d:%d: ...%s...", e.file, e.line, e.col, e.msg, line,
                 col, what);
    assert_string_equal(e.file, "bad.yaml");
}

#define HEAD "name: x\nsummary: y\n"
/* One Llama-3-8B decoder layer under `hf`, kernel by kernel, as the
 * transformers code launches them (modeling_llama.py, integrations/
 * sdpa_attention.py; docs/profiles.md "A whole layer"):
 *   LlamaRMSNorm: to(float32), pow(2), mean(-1), + eps, rsqrt, *, to(bf16),
 *     weight *                                                        8
 *   q_proj, k_proj, v_proj (three nn.Linear)                          3
 *   apply_rotary_pos_emb, per q and k: -x2, cat, * cos, * sin, +      10
 *   StaticCache.update: index_copy_ of K and of V                     2
 *   sdpa_attention_forward: scaled_dot_product_attention (enable_gqa,
 *     no mask)                                                        1
 *     + transpose(1, 2).contiguous(): a copy in prefill; in decode the
 *     (B, 1, H, D) view is already contiguous: none                   1 / 0
 *   o_proj                                                            1
 *   residual +                                                        1
 *   LlamaRMSNorm                                                      8
 *   gate_proj, up_proj                                                2
 *   act_fn (SiLU), *                                                  2
 *   down_proj                                                         1
 *   residual +                                                        1
 * = 41 kernels in prefill, 40 in decode. Views (view, transpose, slicing,
 * unsqueeze, expand) launch none. */
static void test_profile_hf_layer_kernels(void **state)
{
    (void)state;
    static const char *const ORDER[] = {
        "attn_norm.to_fp32", "attn_norm.pow", "attn_norm.mean", "attn_norm.add_eps",
        "attn_norm.rsqrt", "attn_norm.mul_rstd", "attn_norm.to_act", "attn_norm.mul_weight",
        "qkv_proj.q_proj", "qkv_proj.k_proj", "qkv_proj.v_proj",
        "rope.q_neg", "rope.q_cat", "rope.q_mul_cos", "rope.q_mul_sin", "rope.q_add",
        "rope.k_neg", "rope.k_cat", "rope.k_mul_cos", "rope.k_mul_sin", "rope.k_add",
        "kv_write.k_copy", "kv_write.v_copy", "attention", "attention.out_transpose", "o_proj",
        "attn_residual.add",
        "ffn_norm.to_fp32", "ffn_norm.pow", "ffn_norm.mean", "ffn_norm.add_eps",
        "ffn_norm.rsqrt", "ffn_norm.mul_rstd", "ffn_norm.to_act", "ffn_norm.mul_weight",
        "gate_up_proj.gate_proj", "gate_up_proj.up_proj", "silu_mul.silu", "silu_mul.mul",
        "down_proj", "ffn_residual.add"};
    assert_int_equal(sizeof ORDER / sizeof ORDER[0], 41);
    struct model *m = tu_model("llama-3-8b");
    struct profile *p = bundled("hf");
    for (int ph = 0; ph < 2; ph++) {
        struct graph g;
        lower(m, p, &g, ph ? PHASE_DECODE : PHASE_PREFILL, 1, 512);
        int n = 0, want = 0;
        for (int i = 0; i < g.n; i++) {
            if (g.ops[i].group != 0) continue;
            if (ph && strcmp(ORDER[want], "attention.out_transpose") == 0) want++;
            assert_true(want < 41);
            if (strcmp(g.ops[i].name, ORDER[want]) != 0)
                fail_msg("kernel %d: %s, want %s", n, g.ops[i].name, ORDER[want]);
            n++, want++;
        }
        assert_int_equal(n, ph ? 40 : 41);
        graph_free(&g);
    }
    profile_free(p);
    model_free(m);
}

static void test_profile_errors(void **state)
{
    (void)state;
    /* line 6: "      writes: [{elems: T*hh, dtype: act}]": 'hh' at column 27 */
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - name: a\n        kind: elementwise\n"
                      "        writes: [{elems: T*hh, dtype: act}]\n",
                 9, 28, "unknown symbol 'hh'");
    expect_error(HEAD "roles:\n  nrom: {impl: fused}\n", 4, 3, "unknown role 'nrom'");
    /* "      - {name: a, kind: elementwise, rows: T, ...": 'T' at column 44 */
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - {name: a, kind: elementwise, rows: T, writes: [{elems: T, dtype: act}]}\n",
                 7, 44, "rows is for softmax kernels");
    expect_error(HEAD "roles:\n  norm: {impl: eager}\n", 4, 9, "must list its kernels");
    expect_error(HEAD "roles:\n  norm: {impl: fast}\n", 4, 16, "unknown implementation 'fast'");
    expect_error(HEAD "impl: {gemm: cublass}\n", 3, 14, "unknown implementation 'cublass'");
    expect_error(HEAD "impl: {gem: cublas}\n", 3, 8, "unknown op kind 'gem'");
    expect_error(HEAD "roles:\n  attention:\n    impl: eager\n    kernels:\n"
                      "      - {name: qk, kind: gemm, m: S, n: L,\n"
                      "         writes: [{elems: S*L, dtype: act}]}\n",
                 7, 9, "needs m, n and k");
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - {name: a, kind: elementwise, reads: [{elems: T, dtype: act}]}\n",
                 7, 9, "missing 'writes'");
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - {name: a, kind: elementwise, writes: [{elems: T, dtype: bf61}]}\n",
                 7, 65, "unknown dtype 'bf61'");
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - {name: a, kind: pointwise, writes: [{elems: T, dtype: act}]}\n",
                 7, 25, "pointwise");
    expect_error(HEAD "roles:\n  residual:\n    impl: eager\n    kernels:\n"
                      "      - {name: a, kind: copy, writes: [{elems: \"(T*h\", dtype: act}]}\n",
                 7, 53, "expected ')'"); /* the end of "(T*h": '"' at 48, +1, +4 */
    expect_error("summary: y\nroles: {}\n", 1, 1, "name");
}

/* --impl: a bad token is named; a role without eager kernels is refused. */
static void test_profile_set_impl_errors(void **state)
{
    (void)state;
    struct profile *p = bundled("engine");
    struct err e;
    assert_int_equal(profile_set_impl(p, "attention=cudnn,gemm=cublas,norm=fused", "--impl", &e), 0);
    assert_int_equal(profile_set_impl(p, "attention=cudnn,atention=fa2", "--impl", &e), -1);
    assert_non_null(strstr(e.msg, "'atention'"));
    assert_int_equal(profile_set_impl(p, "gemm=cublass", "--impl", &e), -1);
    assert_non_null(strstr(e.msg, "'cublass'"));
    assert_int_equal(profile_set_impl(p, "gemm", "--impl", &e), -1);
    assert_non_null(strstr(e.msg, "'gemm' is not KEY=IMPL"));
    assert_int_equal(profile_set_impl(p, "silu_mul=eager", "--impl", &e), -1);
    assert_non_null(strstr(e.msg, "no eager kernels for role silu_mul"));
    profile_free(p);
}

/* The CLI: header line, bad files and bad --impl exit 2. */
static void test_profile_cli(void **state)
{
    (void)state;
    static char out[1 << 16], err[4096];
    int rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile hf", out,
                    sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\nprofile   hf (launch eager;"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64", out, sizeof out, err,
                sizeof err);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "\nprofile "));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile "
                OB_DATADIR "/tests/data/profile-bad-symbol.yaml",
                out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 2);
    /* line 10 "        writes: [{elems: rows*I, dtype: act}]": 'I' at column 31 */
    assert_non_null(strstr(err, "profile-bad-symbol.yaml:10:31: 'elems': symbol 'I' is not defined"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64 --impl attention=flash",
                out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "'flash'"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile nosuch", out,
                sizeof out, err, sizeof err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "unknown profile 'nosuch'"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile engine "
                "--format csv --per-op",
                out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, ",impl\n"));
    assert_non_null(strstr(out, ",fused\n"));
}

/* A temp file's path, or the test aborts (so the compiler knows it is set). */
static const char *temp_file(const char *text)
{
    const char *p = tu_write_temp(text);
    if (!p) abort();
    return p;
}

/* Study and serve files: `profile:` and `impl:` keys, errors at the key. */
static void test_profile_study_and_serve_keys(void **state)
{
    (void)state;
    static char out[1 << 16], err[4096], args[1024];
    const char *study = temp_file(
        "name: t\nhw: [h100]\nscenarios:\n"
        "  - {phase: decode, batch: 1, context: 64, profile: hf}\n"
        "designs:\n  - {name: A, model: llama-3-8b}\n");
    snprintf(args, sizeof args, "compare %s", study);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "; profile hf (launch eager;"));
    unlink(study);
    /* line 4 "  - {phase: decode, batch: 1, context: 64, profile: nosuch}":
     * the value 'nosuch' starts at column 53 */
    study = temp_file("name: t\nhw: [h100]\nscenarios:\n"
                          "  - {phase: decode, batch: 1, context: 64, profile: nosuch}\n"
                          "designs:\n  - {name: A, model: llama-3-8b}\n");
    snprintf(args, sizeof args, "compare %s", study);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    char want[256];
    snprintf(want, sizeof want, "%s:4:53: unknown profile 'nosuch'", study);
    assert_non_null(strstr(err, want));
    unlink(study);
    /* "  - {phase: decode, batch: 1, context: 64, impl: attention=flash}": col 50 */
    study = temp_file("name: t\nhw: [h100]\nscenarios:\n"
                          "  - {phase: decode, batch: 1, context: 64, impl: attention=flash}\n"
                          "designs:\n  - {name: A, model: llama-3-8b}\n");
    snprintf(args, sizeof args, "compare %s", study);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    snprintf(want, sizeof want, "%s:4:50: impl: unknown implementation 'flash'", study);
    assert_non_null(strstr(err, want));
    unlink(study);
    const char *serve = temp_file("model: llama-3-8b\nrequests: 4\n"
                                      "lengths: [{input: 64, output: 4}]\nmax_batch: 4\n"
                                      "token_budget: 256\nprofile: engine\n");
    snprintf(args, sizeof args, "serve %s --hw h100", serve);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nprofile engine (launch graph;"));
    /* --profile replaces the file's */
    snprintf(args, sizeof args, "serve %s --hw h100 --profile hf", serve);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nprofile hf (launch eager;"));
    unlink(serve);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_hf_rmsnorm_bytes),
        cmocka_unit_test(test_profile_eager_attention_scores),
        cmocka_unit_test(test_profile_eager_mha_no_repeat),
        cmocka_unit_test(test_profile_engine_fused_add_norm),
        cmocka_unit_test(test_profile_user_file),
        cmocka_unit_test(test_profile_default_is_unchanged),
        cmocka_unit_test(test_profile_hf_layer_kernels),
        cmocka_unit_test(test_profile_errors),
        cmocka_unit_test(test_profile_set_impl_errors),
        cmocka_unit_test(test_profile_cli),
        cmocka_unit_test(test_profile_study_and_serve_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
