/* test_papers.c - the papers ledger (docs/papers.md): every published figure
 * opbound reproduces, one cmocka test per ledger row. Each row recomputes
 * opbound's value through the library (counts, lowering, placement, serving)
 * and asserts it lies within the row's stated relative tolerance of the
 * PUBLISHED value, which is the independent figure: it comes from the paper,
 * never from opbound's output. The tolerance is the paper's printing precision
 * (half a unit of its last digit) unless the ledger states a convention or a
 * modelling difference that explains a larger gap.
 *
 * A last test checks that docs/papers.md lists every row id, so the ledger and
 * the tests cannot drift apart.
 *
 * To add a row: write a `static double v_<id>(void)` that computes opbound's
 * figure, add {id, published, tolerance, v_<id>} to ROWS and a line to
 * docs/papers.md with the same id. */
#include "attn_util.h"

#include "../sim/placement.h"
#include "../sim/serve.h"

/* ---- helpers ---------------------------------------------------------- */

enum which { PARAMS, ACTIVE, ACTIVE_WHOLE_EMB };

/* Parameter counts of a bundled model. ACTIVE counts one embedding row (the
 * convention of docs/conventions.md); ACTIVE_WHOLE_EMB counts the whole
 * embedding matrix as active (DeepSeek's and Qwen's convention). */
static double count(const char *name, enum which w)
{
    struct model *m = tu_model(name);
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double h = (double)m->hidden, V = (double)m->vocab;
    const double v = w == PARAMS ? c.params : w == ACTIVE ? c.active_params
                                                          : c.active_params - h + V * h;
    model_free(m);
    return v;
}

/* Step-3's attention table (arXiv:2507.19427): one decoded token at a 32K
 * context, 8-bit KV cache. Sums the attention cores of a decode step at
 * L = 32,767 (L + 1 = 32,768 keys): matmul FLOPs and KV bytes over every
 * layer. */
struct attn32k {
    double flops, kv_bytes;
};
static struct attn32k attn_32k(const char *name)
{
    struct model *m = tu_model(name);
    assert_non_null(m);
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 32767, DT_FP8, 1);
    struct attn32k r = {0, 0};
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].kind == OP_ATTENTION) {
            r.flops += g.ops[i].cost.flops_mm * g.ops[i].layer_count;
            r.kv_bytes += g.ops[i].cost.bytes_kv * g.ops[i].layer_count;
        }
    graph_free(&g);
    model_free(m);
    return r;
}

/* Per-layer count of one attention block of a one-group model (params or KV
 * elements per token). */
static struct block_counts block_of(struct model *m)
{
    struct block_counts bc;
    memset(&bc, 0, sizeof bc);
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    return bc;
}

/* Matmul FLOPs of the named ops of group 0 (a NULL-terminated list). */
static double op_flops(const struct graph *g, const char *const *names)
{
    double f = 0;
    for (const char *const *n = names; *n; n++) f += au_op(g, 0, *n)->cost.flops_mm;
    return f;
}

/* ---- Duplex (Yun et al., MICRO 2024, arXiv:2409.01141) -------------------
 * The paper's setting: Mixtral on 4 devices, GLaM 143B on 8, Grok-1 on 16,
 * continuous batching of (Lin, Lout) = (4096, 4096) requests; its averages
 * exclude Llama-3-70B. opbound: examples/serve-duplex-<m>.yaml served at
 * max_batch 32, 64 and 128 (three waves of requests each) on the paper-settings
 * GPU baseline (hw/gpu-duplex-baseline.yaml), bank PIM and Duplex; speedup =
 * ratio of output tokens per second. Energy saving: of serving one wave of B
 * (4096, 4096) requests on duplex-h100, placed against every op on its xPU
 * (the prefill, then the decode steps at their mean context). Computed once,
 * shared by the Duplex rows. */
#define DX_MODELS 3
#define DX_BATCHES 3
static const char *const DX_FILE[DX_MODELS] = {"mixtral", "glam", "grok1"};
static const double DX_B[DX_BATCHES] = {32, 64, 128};
static struct {
    bool done;
    double gpu[DX_MODELS][DX_BATCHES], bank[DX_MODELS][DX_BATCHES], dup[DX_MODELS][DX_BATCHES];
    double esave[DX_MODELS][DX_BATCHES]; /* 1 - E(placed) / E(xPU alone) */
} dx;

static double serve_tps(struct serve_scenario *s, const struct device *d)
{
    struct serve_result r;
    struct err e;
    if (serve_run(s, &(struct serve_hw){.d = d}, s->tp, &r, &e)) {
        err_print(&e, stderr);
        fail();
    }
    return r.output_tokens_per_s;
}

static void dx_compute(void)
{
    if (dx.done) return;
    struct device *gpu = tu_device("gpu-duplex-baseline"), *bank = tu_device("bankpim-h100"),
                  *dup = tu_device("duplex-h100");
    assert_non_null(gpu);
    assert_non_null(bank);
    assert_non_null(dup);
    for (int i = 0; i < DX_MODELS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/serve-duplex-%s.yaml", OB_DATADIR, DX_FILE[i]);
        struct serve_scenario *s = NULL;
        struct err e;
        if (serve_load(path, &s, &e)) err_print(&e, stderr);
        assert_non_null(s);
        struct analysis a;
        assert_int_equal(analysis_init(&a, s->m), 0);
        for (int j = 0; j < DX_BATCHES; j++) {
            s->max_batch = DX_B[j];
            s->requests = 3 * DX_B[j];
            dx.gpu[i][j] = serve_tps(s, gpu);
            dx.bank[i][j] = serve_tps(s, bank);
            dx.dup[i][j] = serve_tps(s, dup);
            /* one wave of B requests: the prefill of B prompts of 4096, then
             * 4095 decode steps (the first token comes out of the prefill) at
             * contexts 4096 .. 8190, taken at their mean 6143 */
            const struct scenario pf = {.phase = PHASE_PREFILL, .batch = DX_B[j], .seq = 4096,
                                        .tp = s->tp};
            const struct scenario dc = {.phase = PHASE_DECODE, .batch = DX_B[j],
                                        .context = 4096 + (4096 - 2) / 2, .tp = s->tp};
            analysis_run(&a, s->m, dup, &pf);
            assert_true(a.placed);
            const double e_pf = a.place_tot.energy_j, e_pf_xpu = a.place_tot.energy_xpu_j;
            analysis_run(&a, s->m, dup, &dc);
            const double e_dup = e_pf + 4095 * a.place_tot.energy_j,
                         e_xpu = e_pf_xpu + 4095 * a.place_tot.energy_xpu_j;
            dx.esave[i][j] = 1 - e_dup / e_xpu;
        }
        analysis_free(&a);
        serve_free(s);
    }
    device_free(gpu);
    device_free(bank);
    device_free(dup);
    dx.done = true;
}

static double dx_mean(double (*f)(int, int))
{
    dx_compute();
    double sum = 0;
    for (int i = 0; i < DX_MODELS; i++)
        for (int j = 0; j < DX_BATCHES; j++) sum += f(i, j);
    return sum / (DX_MODELS * DX_BATCHES);
}
static double dx_max(double (*f)(int, int))
{
    dx_compute();
    double mx = 0;
    for (int i = 0; i < DX_MODELS; i++)
        for (int j = 0; j < DX_BATCHES; j++) mx = fmax(mx, f(i, j));
    return mx;
}
static double dup_over_gpu(int i, int j) { return dx.dup[i][j] / dx.gpu[i][j]; }
static double dup_over_bank(int i, int j) { return dx.dup[i][j] / dx.bank[i][j]; }
static double esave(int i, int j) { return dx.esave[i][j]; }

/* Op/B of the decode attention core of a bundled model at B = 1, L = 4095. */
static double attn_opb(const char *name)
{
    struct model *m = tu_model(name);
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 4095, m->dt_kv, 1);
    const struct op *a = au_op(&g, 0, "attention");
    const double opb = a->cost.flops_mm /
                       (a->cost.bytes_w + a->cost.bytes_act + a->cost.bytes_kv + a->cost.bytes_out);
    graph_free(&g);
    model_free(m);
    return opb;
}

/* ---- row values --------------------------------------------------------- */

/* Step-3 */
static double v_step3_active(void) { return count("step-3", ACTIVE); }
static double v_step3_kv_32k(void) { return attn_32k("step-3").kv_bytes; }
static double v_step3_attn_flops_32k(void) { return attn_32k("step-3").flops; }
static double v_step3_intensity_32k(void)
{
    const struct attn32k r = attn_32k("step-3");
    return r.flops / r.kv_bytes;
}
static double v_qwen3_kv_32k(void) { return attn_32k("qwen3-235b-a22b").kv_bytes; }
static double v_qwen3_attn_flops_32k(void) { return attn_32k("qwen3-235b-a22b").flops; }
static double v_qwen3_intensity_32k(void)
{
    const struct attn32k r = attn_32k("qwen3-235b-a22b");
    return r.flops / r.kv_bytes;
}
static double v_dsv3_kv_32k(void) { return attn_32k("deepseek-v3").kv_bytes; }
static double v_dsv3_attn_flops_32k(void) { return attn_32k("deepseek-v3").flops; }
static double v_dsv3_intensity_32k(void)
{
    const struct attn32k r = attn_32k("deepseek-v3");
    return r.flops / r.kv_bytes;
}

/* DeepSeek-V2 / V3 */
static double v_dsv2_kv_per_dh(void)
{
    struct model *m = tu_model("deepseek-v2");
    struct model_counts c;
    model_count(m, 1, &c);
    const double v = c.kv_elems_per_token / (double)m->layers / 128; /* d_h = 128 */
    model_free(m);
    return v;
}
static double v_dsv2_gqa_groups(void) { return v_dsv2_kv_per_dh() / 2; }
static double v_dsv2_total(void) { return count("deepseek-v2", PARAMS); }
static double v_dsv2_active(void) { return count("deepseek-v2", ACTIVE_WHOLE_EMB); }
static double v_dsv3_total(void) { return count("deepseek-v3", PARAMS); }
static double v_dsv3_active(void) { return count("deepseek-v3", ACTIVE); }

/* GLaM, Grok-1, Mixtral, Llama 3, Qwen3 */
static double v_glam64_total(void) { return count("glam-64b-64e", PARAMS); }
static double v_glam64_active(void) { return count("glam-64b-64e", ACTIVE); }
static double v_glam8_total(void) { return count("glam-8b-64e", PARAMS); }
static double v_grok1_total(void) { return count("grok-1", PARAMS); }
static double v_mixtral_total(void) { return count("mixtral-8x7b", PARAMS); }
static double v_mixtral_active(void) { return count("mixtral-8x7b", ACTIVE_WHOLE_EMB); }
static double v_llama3_8b_total(void) { return count("llama-3-8b", PARAMS); }
static double v_llama3_70b_total(void) { return count("llama-3-70b", PARAMS); }
static double v_qwen3_235b_total(void) { return count("qwen3-235b-a22b", PARAMS); }
static double v_qwen3_235b_active(void) { return count("qwen3-235b-a22b", ACTIVE_WHOLE_EMB); }
static double v_qwen3_30b_total(void) { return count("qwen3-30b-a3b", PARAMS); }
static double v_qwen3_30b_active(void) { return count("qwen3-30b-a3b", ACTIVE_WHOLE_EMB); }

/* CCA: examples/attn-cca.yaml (C = 4) against MHA on the same skeleton. */
static const char MHA_8B[] = "name: mha\nhidden: 4096\nlayers: 1\nvocab: 1000\n"
                             "tied_embeddings: false\nnorm: rmsnorm\n"
                             "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
                             "groups:\n  - repeat: 1\n"
                             "    attention: {kind: mha, heads: 32, head_dim: 128}\n"
                             "    ffn: {kind: swiglu, intermediate: 14336}\n";
static double cca_ratio(int what)
{
    struct model *cca = au_example("attn-cca"), *mha = au_text(MHA_8B);
    assert_non_null(cca);
    double r;
    if (what == 0) {
        r = block_of(mha).kv_elems / block_of(cca).kv_elems;
    } else {
        struct graph g1, g2;
        au_lower(cca, &g1, PHASE_PREFILL, 1, 1024, DT_BF16, 1);
        au_lower(mha, &g2, PHASE_PREFILL, 1, 1024, DT_BF16, 1);
        static const char *const CORE[] = {"attention", NULL};
        static const char *const CCA_PROJ[] = {"qkv_down_proj", "v_shift_proj", "up_proj", NULL};
        static const char *const MHA_PROJ[] = {"qkv_proj", "o_proj", NULL};
        r = what == 1 ? op_flops(&g2, CORE) / op_flops(&g1, CORE)
                      : op_flops(&g2, MHA_PROJ) / op_flops(&g1, CCA_PROJ);
        graph_free(&g1);
        graph_free(&g2);
    }
    model_free(cca);
    model_free(mha);
    return r;
}
static double v_cca_kv_factor(void) { return cca_ratio(0); }
/* CCGQA, examples/attn-ccgqa.yaml (KV compression C2 = 8), against MHA */
static double v_ccgqa_kv_factor(void)
{
    struct model *c = au_example("attn-ccgqa"), *mha = au_text(MHA_8B);
    assert_non_null(c);
    const double r = block_of(mha).kv_elems / block_of(c).kv_elems;
    model_free(c);
    model_free(mha);
    return r;
}
static double v_cca_core_factor(void) { return cca_ratio(1); }
static double v_cca_proj_factor(void) { return cca_ratio(2); }

/* SQA: attention-core FLOP reduction against Llama-3-8B (H = 32), prefill. */
static double sqa_factor(const char *example)
{
    struct model *base = tu_model("llama-3-8b"), *v = au_example(example);
    assert_non_null(v);
    struct graph g1, g2;
    au_lower(base, &g1, PHASE_PREFILL, 1, 2048, DT_BF16, 1);
    au_lower(v, &g2, PHASE_PREFILL, 1, 2048, DT_BF16, 1);
    const double r = au_op(&g1, 0, "attention")->cost.flops_mm /
                     au_op(&g2, 0, "attention")->cost.flops_mm;
    graph_free(&g1);
    graph_free(&g2);
    model_free(base);
    model_free(v);
    return r;
}
static double v_sqa_factor(void) { return sqa_factor("attn-sqa"); }
static double v_xsqa_factor(void) { return sqa_factor("attn-sqa-xsqa"); }

/* SQA's dense experiments: dim 256, 8 layers, 16 heads of 16, SwiGLU 768,
 * vocab 10k, untied. */
static double sqa_micro(const char *attn)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: micro\nhidden: 256\nlayers: 8\nvocab: 10000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 8\n    attention: %s\n"
             "    ffn: {kind: swiglu, intermediate: 768}\n",
             attn);
    struct model *m = au_text(yaml);
    struct model_counts c;
    model_count(m, 1, &c);
    model_free(m);
    return c.params;
}
static double v_sqa_size_mha(void) { return sqa_micro("{kind: mha, heads: 16, head_dim: 16}"); }
static double v_sqa_size_gqa(void)
{
    return sqa_micro("{kind: gqa, heads: 16, kv_heads: 4, head_dim: 16}");
}
static double v_sqa_size_mqa(void) { return sqa_micro("{kind: mqa, heads: 16, head_dim: 16}"); }
static double v_sqa_size_sqa(void)
{
    return sqa_micro("{kind: sqa, heads: 16, query_heads: 8, kv_heads: 4, head_dim: 16}");
}
static double v_sqa_size_ssqa(void)
{
    return sqa_micro("{kind: sqa, heads: 16, query_heads: 8, kv_heads: 8, head_dim: 16}");
}
static double v_sqa_size_xsqa(void)
{
    return sqa_micro("{kind: sqa, heads: 16, query_heads: 4, kv_heads: 4, head_dim: 16}");
}
static double v_sqa_size_xsmqa(void)
{
    return sqa_micro("{kind: sqa, heads: 16, query_heads: 4, kv_heads: 1, head_dim: 16}");
}

/* Duplex */
static double v_duplex_avg_speedup(void) { return dx_mean(dup_over_gpu); }
static double v_duplex_max_speedup(void) { return dx_max(dup_over_gpu); }
static double v_duplex_over_bankpim_avg(void) { return dx_mean(dup_over_bank); }
static double v_bankpim_mixtral_b32(void)
{
    dx_compute();
    return dx.bank[0][0] / dx.gpu[0][0]; /* Mixtral, batch 32, (4096, 4096) */
}
static double v_duplex_energy_avg(void) { return 100 * dx_mean(esave); }
static double v_duplex_energy_max(void) { return 100 * dx_max(esave); }
static double v_duplex_energy_mixtral(void)
{
    dx_compute();
    return 100 * (dx.esave[0][0] + dx.esave[0][1] + dx.esave[0][2]) / 3;
}
static double v_duplex_gqa_opb_low(void) { return attn_opb("mixtral-8x7b"); }
static double v_duplex_gqa_opb_high(void) { return attn_opb("llama-3-70b"); }
/* MoE Op/B at its lowest: one token per touched expert (decode, B = 1):
 * the gate/up GEMM of Mixtral's experts, bf16 weights. */
static double v_duplex_moe_opb_min(void)
{
    struct model *m = tu_model("mixtral-8x7b");
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 4095, m->dt_kv, 1);
    const struct op *a = au_op(&g, 0, "experts_gate_up");
    const double opb = a->cost.flops_mm /
                       (a->cost.bytes_w + a->cost.bytes_act + a->cost.bytes_kv + a->cost.bytes_out);
    graph_free(&g);
    model_free(m);
    return opb;
}

/* ---- the ledger --------------------------------------------------------- */

struct row {
    const char *id;
    double published; /* the paper's figure, as printed */
    double tol;       /* relative tolerance, stated in docs/papers.md */
    double (*ours)(void);
};

/* Tolerances: "half a unit in the last printed digit" is written as that
 * half-unit over the printed value (e.g. "38B": 0.5 / 38). */
static const struct row ROWS[] = {
    /* Step-3, arXiv:2507.19427 */
    {"step3_active", 38e9, 0.5 / 38, v_step3_active},
    {"step3_kv_32k", 1.02e9, 0.005 / 1.02, v_step3_kv_32k},
    {"step3_attn_flops_32k", 1.31e11, 0.005 / 1.31, v_step3_attn_flops_32k},
    {"step3_intensity_32k", 128, 0, v_step3_intensity_32k},
    {"qwen3_kv_32k", 3.15e9, 0.005 / 3.15, v_qwen3_kv_32k},
    {"qwen3_attn_flops_32k", 1.01e11, 0.005 / 1.01, v_qwen3_attn_flops_32k},
    {"qwen3_intensity_32k", 32, 0, v_qwen3_intensity_32k},
    {"dsv3_kv_32k", 1.15e9, 0.005 / 1.15, v_dsv3_kv_32k},
    {"dsv3_attn_flops_32k", 5.89e11, 0.06, v_dsv3_attn_flops_32k},
    {"dsv3_intensity_32k", 512, 0.06, v_dsv3_intensity_32k},
    /* DeepSeek-V2, arXiv:2405.04434; DeepSeek-V3, arXiv:2412.19437 */
    {"dsv2_kv_per_dh", 4.5, 0, v_dsv2_kv_per_dh},
    {"dsv2_gqa_groups", 2.25, 0, v_dsv2_gqa_groups},
    {"dsv2_total", 236e9, 0.5 / 236, v_dsv2_total},
    {"dsv2_active", 21e9, 0.5 / 21, v_dsv2_active},
    {"dsv3_total", 671e9, 0.5 / 671, v_dsv3_total},
    {"dsv3_active", 37e9, 0.5 / 37, v_dsv3_active},
    /* GLaM, arXiv:2112.06905; Grok-1; Mixtral, arXiv:2401.04088; Llama 3; Qwen3 */
    {"glam64_total", 1.2e12, 0.05 / 1.2, v_glam64_total},
    {"glam64_active", 96.6e9, 0.05 / 96.6, v_glam64_active},
    {"glam8_total", 143e9, 0.01, v_glam8_total},
    {"grok1_total", 314e9, 0.006, v_grok1_total},
    {"mixtral_total", 47e9, 0.5 / 47, v_mixtral_total},
    {"mixtral_active", 13e9, 0.5 / 13, v_mixtral_active},
    {"llama3_8b_total", 8030261248.0, 0, v_llama3_8b_total},
    {"llama3_70b_total", 70553706496.0, 0, v_llama3_70b_total},
    {"qwen3_235b_total", 235e9, 0.5 / 235, v_qwen3_235b_total},
    {"qwen3_235b_active", 22e9, 0.5 / 22, v_qwen3_235b_active},
    {"qwen3_30b_total", 30.5e9, 0.05 / 30.5, v_qwen3_30b_total},
    {"qwen3_30b_active", 3.3e9, 0.1 / 3.3, v_qwen3_30b_active}, /* printed truncated */
    /* CCA, arXiv:2510.04476 */
    {"cca_kv_factor", 4, 0, v_cca_kv_factor},
    {"cca_core_factor", 4, 0, v_cca_core_factor},
    {"cca_proj_factor", 4, 0, v_cca_proj_factor},
    {"ccgqa_kv_factor", 8, 0, v_ccgqa_kv_factor},
    /* SQA, arXiv:2510.01817 */
    {"sqa_core_factor", 2, 0, v_sqa_factor},
    {"xsqa_core_factor", 4, 0, v_xsqa_factor},
    {"sqa_size_mha", 12e6, 0.5 / 12, v_sqa_size_mha},
    {"sqa_size_gqa", 11.2e6, 0.05 / 11.2, v_sqa_size_gqa},
    {"sqa_size_mqa", 11.0e6, 0.05 / 11.0, v_sqa_size_mqa},
    {"sqa_size_sqa", 10.7e6, 0.008, v_sqa_size_sqa},
    {"sqa_size_ssqa", 10.9e6, 0.05 / 10.9, v_sqa_size_ssqa},
    {"sqa_size_xsqa", 10.4e6, 0.05 / 10.4, v_sqa_size_xsqa},
    {"sqa_size_xsmqa", 10.2e6, 0.05 / 10.2, v_sqa_size_xsmqa},
    /* Duplex, arXiv:2409.01141 */
    {"duplex_avg_speedup", 2.07, 0.10, v_duplex_avg_speedup},
    {"duplex_max_speedup", 2.67, 0.10, v_duplex_max_speedup},
    {"duplex_over_bankpim_avg", 1.49, 0.25, v_duplex_over_bankpim_avg},
    {"bankpim_mixtral_b32", 2.17, 0.25, v_bankpim_mixtral_b32},
    {"duplex_energy_avg", 28.19, 0.30, v_duplex_energy_avg},
    {"duplex_energy_max", 42.03, 0.10, v_duplex_energy_max},
    {"duplex_energy_mixtral", 33.28, 0.05, v_duplex_energy_mixtral},
    {"duplex_gqa_opb_low", 4, 0.01, v_duplex_gqa_opb_low},
    {"duplex_gqa_opb_high", 8, 0.01, v_duplex_gqa_opb_high},
    {"duplex_moe_opb_min", 1, 0.01, v_duplex_moe_opb_min},
};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

static void test_row(void **state)
{
    const struct row *r = *state;
    const double v = r->ours();
    const double rel = fabs(v - r->published) / fabs(r->published);
    print_message("%-26s opbound %-14.6g published %-10.6g %+7.2f%% (tolerance %.2f%%)\n", r->id,
                  v, r->published, 100 * (v / r->published - 1), 100 * r->tol);
    if (!(rel <= r->tol + 1e-12)) {
        print_error("%s: opbound %.6g, published %.6g: %+.2f%% (tolerance %.2f%%)\n", r->id, v,
                    r->published, 100 * (v / r->published - 1), 100 * r->tol);
        fail();
    }
}

/* The Duplex rows' GPU baseline is a device file of their own; it must stay
 * the xPU of duplex-h100 (same peaks, bandwidth, overhead, efficiencies), so
 * that the speedups compare like with like. */
static void test_papers_duplex_baseline_is_the_xpu(void **state)
{
    (void)state;
    struct device *g = tu_device("gpu-duplex-baseline"), *d = tu_device("duplex-h100"),
                  *b = tu_device("bankpim-h100");
    assert_non_null(g);
    assert_false(g->has_pim);
    const struct device *xs[2] = {d, b};
    for (int k = 0; k < 2; k++) {
        const struct device *x = xs[k];
        assert_exact(g->mem_bw_bytes_per_s, x->mem_bw_bytes_per_s);
        assert_exact(g->mem_capacity_bytes, x->mem_capacity_bytes);
        assert_exact(g->kernel_overhead_s, x->kernel_overhead_s);
        assert_exact(g->interconnect_bytes_per_s, x->interconnect_bytes_per_s);
        for (int t = 0; t < DT_COUNT; t++) {
            assert_exact(g->tensor_flops_per_s[t], x->tensor_flops_per_s[t]);
            assert_exact(g->vector_flops_per_s[t], x->vector_flops_per_s[t]);
        }
        assert_exact(g->eff_tensor, x->eff_tensor);
        assert_exact(g->eff_memory, x->eff_memory);
        assert_exact(g->eff_vector, x->eff_vector);
    }
    /* the paper's bank-PIM baseline: 16x the external bandwidth inside the dies */
    assert_exact(b->pim.bw_multiplier, 16);
    device_free(g);
    device_free(d);
    device_free(b);
}

/* docs/papers.md names every row id (as `id`), and no id twice here. */
static void test_papers_ledger_lists_every_row(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/papers.md", OB_DATADIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 18];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        char key[96];
        snprintf(key, sizeof key, "`%s`", ROWS[i].id);
        if (!strstr(text, key)) fail_msg("docs/papers.md does not list %s", key);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(ROWS[i].id, ROWS[j].id);
    }
    assert_true(N_ROWS >= 40);
}

int main(void)
{
    static struct CMUnitTest tests[N_ROWS + 2];
    for (size_t i = 0; i < N_ROWS; i++)
        tests[i] = (struct CMUnitTest){ROWS[i].id, test_row, NULL, NULL, (void *)&ROWS[i]};
    tests[N_ROWS] = (struct CMUnitTest)cmocka_unit_test(test_papers_duplex_baseline_is_the_xpu);
    tests[N_ROWS + 1] = (struct CMUnitTest)cmocka_unit_test(test_papers_ledger_lists_every_row);
    return _cmocka_run_group_tests("test_papers", tests, N_ROWS + 2, NULL, NULL);
}
