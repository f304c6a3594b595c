/* test_attn_sparse.c - block- and token-sparse attention kinds: moba, nsa,
 * dsa. Pair counts against brute-force enumeration; one layer's FLOPs, KV
 * bytes read, cache and parameters derived by hand in prefill and decode;
 * top-k of everything equals dense causal attention; short contexts clamp;
 * impossible settings fail at FILE:LINE:COL; FlashMoBA's routing SNR. */
#include "attn_util.h"

#include "../models/attn_sparse.h"

/* Brute force: per query p, own block causally + the min(k-1, j) earlier. */
static void brute_block(double prior, double q, double bs, double k, double *useful,
                        double *computed)
{
    *useful = *computed = 0;
    for (double p = prior; p < prior + q; p++) {
        const double j = floor(p / bs), past = fmin(k - 1, j) * bs;
        *useful += past + (p - j * bs + 1);
        *computed += past + (fmin(j * bs + bs, prior + q) - j * bs);
    }
}

static void test_sparse_pairs_enumerated(void **state)
{
    (void)state;
    struct sparse_pairs sp;
    /* B = 4, k = 2, prefill of 10: blocks {0..3}, {4..7}, {8, 9}:
     * useful 10 + (16 + 10) + (8 + 3) = 47, computed 16 + 32 + 12 = 60 */
    sparse_block_pairs(0, 10, 4, 2, &sp);
    assert_exact(sp.useful, 47);
    assert_exact(sp.computed, 60);
    for (double prior = 0; prior < 20; prior++)
        for (double q = 1; q < 20; q++)
            for (double k = 1; k < 5; k++) {
                double u, c;
                brute_block(prior, q, 3, k, &u, &c);
                sparse_block_pairs(prior, q, 3, k, &sp);
                assert_exact(sp.useful, u);
                assert_exact(sp.computed, c);
            }
    /* window and compressed-token sums against loops */
    for (double prior = 0; prior < 40; prior++)
        for (double q = 1; q < 40; q += 3) {
            double win = 0, cmp = 0, seen = 0;
            for (double p = prior; p < prior + q; p++) {
                win += fmin(7, p + 1);
                cmp += p + 1 >= 8 ? floor((p + 1 - 8) / 4) + 1 : 0;
                seen += ceil((p + 1) / 5);
            }
            assert_exact(sparse_window_pairs(prior, q, 7), win);
            assert_exact(sparse_cmp_pairs(prior, q, 8, 4), cmp);
            assert_exact(sparse_blocks_seen(prior, q, 5), seen);
        }
}

/* FlashMoBA (arXiv:2511.11571, sec. 3): SNR = dmu_eff * sqrt(d / (2B)). At
 * d = 128: B = 512 (MoBA's block) gives 0.3536 dmu_eff, B = 128 gives
 * sqrt(1/2) = 0.7071 dmu_eff: quartering B doubles the SNR. */
static void test_moba_snr(void **state)
{
    (void)state;
    assert_close(moba_routing_snr(128, 512, 1), sqrt(0.125), 1e-15);
    assert_close(moba_routing_snr(128, 128, 1), sqrt(0.5), 1e-15);
    assert_close(moba_routing_snr(128, 128, 2) / moba_routing_snr(128, 512, 2), 2, 1e-15);
    assert_close(moba_routing_snr(64, 64, 1), sqrt(0.5), 1e-15);
}

static double attn_useful(const struct op *op)
{
    return op->cost.flops_mm - op->cost.flops_wasted;
}

/* MoBA with top_k >= every block: the same FLOPs as gqa for the same mask.
 * The kernel's only extra pairs are the own-block tiles' masked halves
 * (15 x 64*63/2 + 40*39/2 per head for 1000 = 15 blocks of 64 + 40), which
 * are not charged, as gqa's S(S+1)/2 does not charge the diagonal's. */
static void test_moba_dense_limit(void **state)
{
    (void)state;
    char a[1024], b2[1024];
    struct model *moba = au_text(au_base(a, sizeof a,
        "{kind: moba, heads: 32, kv_heads: 8, head_dim: 128, block_size: 64, top_k: 1000}"));
    struct model *gqa = au_text(au_base(b2, sizeof b2,
        "{kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}"));
    struct graph gm, gg;
    au_lower(moba, &gm, PHASE_PREFILL, 2, 1000, DT_BF16, 1);
    au_lower(gqa, &gg, PHASE_PREFILL, 2, 1000, DT_BF16, 1);
    const struct op *om = au_op(&gm, 0, "attention"), *og = au_op(&gg, 0, "attention");
    assert_exact(om->cost.flops_mm, og->cost.flops_mm);
    assert_exact(om->cost.flops_mm, 2.0 * 32 * (1000.0 * 1001 / 2) * 512);
    assert_exact(om->cost.flops_wasted, 0);
    graph_free(&gm);
    graph_free(&gg);
    au_lower(moba, &gm, PHASE_DECODE, 2, 1000, DT_BF16, 1);
    au_lower(gqa, &gg, PHASE_DECODE, 2, 1000, DT_BF16, 1);
    om = au_op(&gm, 0, "attention");
    og = au_op(&gg, 0, "attention");
    assert_exact(om->cost.flops_mm, og->cost.flops_mm);
    assert_exact(om->cost.flops_wasted, 0);
    assert_exact(om->cost.bytes_kv, og->cost.bytes_kv); /* every block read */
    graph_free(&gm);
    graph_free(&gg);
    model_free(moba);
    model_free(gqa);
}

/* examples/attn-moba.yaml (H 32, Hkv 8, D 128, B 512, top_k 3), decode of B = 4
 * at L = 16383: position 16383 sits in block 31 with 512 keys of its own, plus
 * 2 routed blocks: 1536 pairs/head. KV read per group: the union over its 4
 * heads of at most 4 x 2 routed blocks + the own: 9 x 512 = 4608 tokens.
 * Gate: 4 x 8 groups x 31 centroids x 4 heads x 2 x 128. Cache per token and
 * layer 2 x 8 x 128 + 8 x 128/512 = 2050. Params = Llama-3-8B attention. */
static void test_moba_decode_counts(void **state)
{
    (void)state;
    struct model *m = au_example("attn-moba");
    assert_non_null(m);
    struct graph g;
    const double B = 4;
    au_lower(m, &g, PHASE_DECODE, B, 16383, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->cost.flops_mm, B * 32 * 1536 * 2 * 256);
    assert_exact(at->cost.flops_wasted, 0);
    assert_exact(at->cost.bytes_kv, B * 4608 * 2 * 8 * 128 * 2);
    assert_exact(au_op(&g, 0, "moba_gate")->cost.flops_mm, B * 8 * 31 * 4 * 2 * 128);
    assert_exact(au_op(&g, 0, "moba_gate")->cost.bytes_kv, B * 8 * 31 * 128 * 2);
    graph_free(&g);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.kv_elems_per_token, 32 * 2050.0);
    const double attn = 4096.0 * 48 * 128 + 32 * 128 * 4096.0;
    assert_exact(c.params, 2 * 128256.0 * 4096 + 32 * (attn + 3 * 4096.0 * 14336 + 2 * 4096) +
                               4096);
    /* prefill of 2048 = 4 blocks of 512: by block j, past min(2, j) whole
     * blocks (512 x 512 pairs each: 0 + 1 + 2 + 2 = 5) and the own block's
     * causal 512 x 513 / 2; its masked half is not charged */
    au_lower(m, &g, PHASE_PREFILL, 1, 2048, DT_BF16, 1);
    at = au_op(&g, 0, "attention");
    const double useful = 512.0 * 512 * 5 + 4 * (512.0 * 513 / 2);
    assert_exact(at->cost.flops_mm, 32 * useful * 512);
    assert_exact(at->cost.flops_wasted, 0);
    assert_exact(at->cost.bytes_kv, 0); /* prefill: fresh K/V (activations) */
    graph_free(&g);
    model_free(m);
}

/* Short contexts clamp: at L = 100 < B every query has only its own block: no
 * router ops, pairs = L + 1. A key conv of 4 taps adds 8 x 128 x 4 params and
 * a 3 x 8 x 128 state per sequence. */
static void test_moba_short_context(void **state)
{
    (void)state;
    char a[1024];
    struct model *m = au_text(au_base(a, sizeof a,
        "{kind: moba, heads: 32, kv_heads: 8, head_dim: 128, block_size: 512, top_k: 8, "
        "key_conv: 4}"));
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 100, DT_BF16, 1);
    for (int i = 0; i < g.n; i++) assert_true(strcmp(g.ops[i].name, "moba_gate") != 0);
    assert_exact(au_op(&g, 0, "attention")->cost.flops_mm, 32 * 101.0 * 512);
    graph_free(&g);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.state_elems_per_seq, 2 * 3 * 8 * 128.0);
    model_free(m);
}

/* examples/attn-nsa.yaml (H 32, Hkv 8, D 128, l 32, d 16, l' 64, n 16, w 512),
 * decode of B = 2 at L = 8191 (8192 keys):
 *   cmp: floor((8192 - 32)/16) + 1 = 511 compressed tokens
 *   sel: block 127 (64 own keys) + 15 routed: 1024 keys; NSA's kernel pads the
 *        4-head group to 8: computed 8 x 8 heads, half wasted
 *   win: 512 keys. */
static void test_nsa_decode_counts(void **state)
{
    (void)state;
    struct model *m = au_example("attn-nsa");
    assert_non_null(m);
    struct graph g;
    const double B = 2, kvw = 8 * 256.0;
    au_lower(m, &g, PHASE_DECODE, B, 8191, DT_BF16, 1);
    const struct op *cmp = au_op(&g, 0, "cmp_attn"), *sel = au_op(&g, 0, "sel_attn"),
                    *win = au_op(&g, 0, "win_attn");
    assert_exact(cmp->cost.flops_mm, B * 32 * 511 * 512);
    assert_exact(cmp->cost.bytes_kv, B * 511 * kvw * 2);
    assert_exact(sel->cost.flops_mm, B * 64 * 1024 * 512);
    assert_exact(sel->cost.flops_wasted, B * 32 * 1024 * 512);
    assert_exact(sel->cost.bytes_kv, B * 1024 * kvw * 2);
    assert_exact(win->cost.flops_mm, B * 32 * 512 * 512);
    assert_exact(win->cost.bytes_kv, B * 512 * kvw * 2);
    graph_free(&g);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.kv_elems_per_token, 32 * kvw * 17 / 16);
    const double attn = 4096.0 * (32 * 128 + 8 * 256) + 32 * 128 * 4096.0 +
                        32 * (2 * 128.0 * 128) + 32 * 256.0 + 3 * 32 * 4096.0;
    assert_exact(c.params, 2 * 128256.0 * 4096 + 32 * (attn + 3 * 4096.0 * 14336 + 2 * 4096) +
                               4096);
    model_free(m);
}

/* Prefill: FSA computes no padded heads but loads every KV block once per
 * query head; with n >= every block the selected branch's pairs are dense
 * causal attention. The masked half of each own-block tile is not charged
 * (the one rule of docs/conventions.md, as gqa's S(S+1)/2).
 * By hand, S = 4096, l' = 64 (64 blocks), n = 64 >= 64: per head,
 *   pairs = S(S+1)/2 (dense causal).
 * fsa: 32 heads, nothing wasted (4D = 2(128 + 128) = 512).
 * nsa: the 4-head groups are padded to min_heads 8: 8 groups x 8 = 64 heads
 * computed over S(S+1)/2 pairs each, of which the 32 real heads are useful;
 * wasted = 32 padded heads x 512 x S(S+1)/2. */
static void test_nsa_kernels_and_dense_limit(void **state)
{
    (void)state;
    char a[1024], b2[1024];
    const char *fmt = "{kind: nsa, heads: 32, kv_heads: 8, head_dim: 128, cmp_block: 32, "
                      "cmp_stride: 16, sel_block: 64, sel_count: %s, window: 512, kernel: %s}";
    char blk[512];
    snprintf(blk, sizeof blk, fmt, "64", "fsa");
    struct model *fsa = au_text(au_base(a, sizeof a, blk));
    snprintf(blk, sizeof blk, fmt, "64", "nsa");
    struct model *nsa = au_text(au_base(b2, sizeof b2, blk));
    const double S = 4096;
    struct graph gf, gn;
    au_lower(fsa, &gf, PHASE_PREFILL, 1, S, DT_BF16, 1);
    au_lower(nsa, &gn, PHASE_PREFILL, 1, S, DT_BF16, 1);
    const struct op *sf = au_op(&gf, 0, "sel_attn"), *sn = au_op(&gn, 0, "sel_attn");
    const double dense = 32 * S * (S + 1) / 2 * 512;
    assert_exact(attn_useful(sf), dense);
    assert_exact(attn_useful(sn), dense);
    assert_exact(sf->cost.flops_wasted, 0);
    assert_exact(sf->cost.flops_mm, dense);
    assert_exact(sn->cost.flops_wasted, 32 * 512 * (S * (S + 1) / 2));
    assert_exact(sn->cost.flops_mm, 64 * 512 * (S * (S + 1) / 2));
    assert_exact(sf->cost.bytes_act - S * 32 * 128 * 2, 4 * S * 8 * 256 * 2.0);
    graph_free(&gf);
    graph_free(&gn);
    model_free(fsa);
    model_free(nsa);
}

/* DSA, one DeepSeek-V3-shaped layer: index_topk >= context makes the MLA core
 * exactly dense; the indexer adds its own ops. Decode at L: indexer
 * 64 heads x (L + 1) keys x 2 x (128 + 1).
 * The indexer cache per token (index_dtype fp8, d_I = 128): 128 one-byte key
 * elements + one fp32 scale per 128 elements = 128 + 4 = 132 bytes, as the
 * reference code's k_cache and k_scale_cache; the ops that store it
 * (idx_kv_write) and read it (idx_score) move those 132 bytes per token. */
static struct model *dsa_model(const char *kind, const char *topk)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: d1\nhidden: 7168\nlayers: 1\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 1\n"
             "    attention: {kind: %s, heads: 128, q_lora_rank: 1536, kv_lora_rank: 512,\n"
             "                qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128%s%s}\n"
             "    ffn: {kind: swiglu, intermediate: 1024}\n",
             kind, topk ? ", index_heads: 64, index_head_dim: 128, index_topk: " : "",
             topk ? topk : "");
    return au_text(yaml);
}

static void test_dsa_dense_limit_and_counts(void **state)
{
    (void)state;
    struct model *dsa = dsa_model("dsa", "2048"), *mla = dsa_model("mla", NULL);
    struct graph gd, gm;
    const double B = 2, L = 1000;
    au_lower(dsa, &gd, PHASE_DECODE, B, L, DT_BF16, 1);
    au_lower(mla, &gm, PHASE_DECODE, B, L, DT_BF16, 1);
    double mm_idx = 0, mm_rest = 0;
    for (int i = 0; i < gd.n; i++)
        if (gd.ops[i].group == 0) {
            if (strncmp(gd.ops[i].name, "idx_", 4) == 0) mm_idx += gd.ops[i].cost.flops_mm;
            else mm_rest += gd.ops[i].cost.flops_mm;
        }
    assert_exact(mm_rest, au_layer(&gm, 0).mm);
    const double T = B;
    assert_exact(mm_idx, 2 * T * (64 * 128 * 1536.0 + 128 * 7168.0 + 64 * 7168.0) +
                             B * 64 * (L + 1) * 2 * 129);
    /* the indexer reads L + 1 cached keys of 132 bytes per sequence:
     * 2 x 1001 x 132 = 264,264 B */
    assert_exact(au_op(&gd, 0, "idx_score")->cost.bytes_kv, B * (L + 1) * 132);
    assert_exact(au_op(&gd, 0, "idx_score")->cost.bytes_kv, 264264);
    /* and stores 132 bytes for each of the T = 2 new tokens */
    assert_exact(au_op(&gd, 0, "idx_kv_write")->cost.bytes_out, T * 132);
    assert_exact(au_op(&gd, 0, "idx_kv_write")->cost.bytes_act, T * 132);
    graph_free(&gd);
    graph_free(&gm);
    /* decode beyond k: absorbed attention over 2048 tokens */
    au_lower(dsa, &gd, PHASE_DECODE, B, 8191, DT_BF16, 1);
    const struct op *at = au_op(&gd, 0, "attention");
    assert_exact(at->cost.flops_mm, B * 128 * 2048 * 2 * (576 + 512));
    assert_exact(at->cost.bytes_kv, B * 2048 * 576 * 2);
    graph_free(&gd);
    /* prefill of 4096 with k = 2048: naive core over sum min(2048, p + 1) pairs */
    au_lower(dsa, &gd, PHASE_PREFILL, 1, 4096, DT_BF16, 1);
    const double pairs = 2048 * 2049 / 2.0 + 2048 * 2048.0;
    assert_exact(au_op(&gd, 0, "attention")->cost.flops_mm, 128 * pairs * 2 * (192 + 128));
    /* the indexer's fresh keys (activations, fp8): Q 4096 x 64 x 128 x 1 B
     * = 33,554,432 plus keys 4096 x 132 B = 540,672 */
    assert_exact(au_op(&gd, 0, "idx_score")->cost.bytes_act, 4096 * 64 * 128.0 + 4096 * 132.0);
    assert_exact(au_op(&gd, 0, "idx_score")->cost.bytes_act, 34095104);
    assert_exact(au_op(&gd, 0, "idx_kv_write")->cost.bytes_out, 4096 * 132.0);
    graph_free(&gd);
    model_free(dsa);
    model_free(mla);
}

/* examples/dsa-deepseek-v3.yaml: per layer the MLA (187,107,328) plus the
 * indexer 1536 x 64 x 128 + 7168 x 128 + 2 x 128 + 7168 x 64 = 13,959,424;
 * cache 576 bf16 + (128 fp8 + 4-byte scale) = 576 + 66 bf16-equivalent. */
static void test_dsa_example_counts(void **state)
{
    (void)state;
    struct model *m = au_example("dsa-deepseek-v3"), *v3 = tu_model("deepseek-v3");
    assert_non_null(m);
    struct model_counts c, c3;
    model_count(m, 1, &c);
    model_count(v3, 1, &c3);
    assert_exact(c.params - c3.params, 61 * 13959424.0);
    assert_exact(c.kv_elems_per_token, 61 * 642.0);
    model_count(m, 8, &c); /* TP 8: the indexer is replicated */
    model_count(v3, 8, &c3);
    assert_exact(c.params_dev - c3.params_dev, 61 * 13959424.0);
    model_free(m);
    model_free(v3);
}

static void test_sparse_bad_input(void **state)
{
    (void)state;
    char buf[1024];
    au_expect_error(au_base(buf, sizeof buf, "{kind: moba, heads: 32, kv_heads: 8, head_dim: "
                                             "128, block_size: 0, top_k: 3}"),
                    10, "0, top", "'block_size' must be at least 1");
    au_expect_error(au_base(buf, sizeof buf, "{kind: moba, heads: 32, kv_heads: 8, head_dim: "
                                             "128, block_size: 64, top_k: 0}"),
                    10, "0}", "'top_k' must be at least 1");
    au_expect_error(au_base(buf, sizeof buf, "{kind: moba, heads: 32, kv_heads: 8, head_dim: "
                                             "128, block_size: -4, top_k: 2}"),
                    10, "-4", "'block_size' must be at least 1");
    au_expect_error(au_base(buf, sizeof buf, "{kind: moba, heads: 32, kv_heads: 8, head_dim: "
                                             "128, block_size: 64, top_k: 2, key_conv: 1}"),
                    10, "1}", "key_conv 1 is a per-channel scale");
    au_expect_error(au_base(buf, sizeof buf, "{kind: nsa, heads: 32, kv_heads: 8, head_dim: "
                                             "128, cmp_block: 16, cmp_stride: 32, sel_block: "
                                             "64, sel_count: 16, window: 512}"),
                    10, "32, sel", "cmp_stride (32) is larger than cmp_block (16)");
    au_expect_error(au_base(buf, sizeof buf, "{kind: nsa, heads: 32, kv_heads: 8, head_dim: "
                                             "128, cmp_block: 32, cmp_stride: 12, sel_block: "
                                             "64, sel_count: 16, window: 512}"),
                    10, "12, sel", "cmp_stride (12) must divide cmp_block (32)");
    au_expect_error(au_base(buf, sizeof buf, "{kind: nsa, heads: 32, kv_heads: 8, head_dim: "
                                             "128, cmp_block: 32, cmp_stride: 16, sel_block: "
                                             "64, sel_count: 16, window: 512, kernel: flash}"),
                    10, "flash", "unknown value 'flash'");
    au_expect_error(au_base(buf, sizeof buf, "{kind: dsa, heads: 32, kv_lora_rank: 512, "
                                             "qk_nope_head_dim: 128, qk_rope_head_dim: 64, "
                                             "v_head_dim: 128, index_heads: 8, "
                                             "index_head_dim: 32, index_topk: 64}"),
                    10, "32, index_topk", "index_head_dim (32) is smaller than qk_rope_head_dim");
    au_expect_error(au_base(buf, sizeof buf, "{kind: dsa, heads: 32, kv_lora_rank: 512, "
                                             "qk_nope_head_dim: 128, qk_rope_head_dim: 64, "
                                             "v_head_dim: 128, index_heads: 8, "
                                             "index_head_dim: 128, index_topk: 0}"),
                    10, "0}", "'index_topk' must be at least 1");
}

/* Tensor parallelism over 4 devices: heads split, 8 KV heads -> 2 per device. */
static void test_sparse_tp(void **state)
{
    (void)state;
    struct model *m = au_example("attn-nsa");
    struct model_counts c;
    model_count(m, 4, &c);
    assert_exact(c.kv_elems_per_token_dev, 32 * 2 * 256.0 * 17 / 16);
    struct err e;
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    model_free(m);
    m = au_example("attn-moba");
    model_count(m, 16, &c); /* tp > Hkv: one KV head per device */
    assert_exact(c.kv_elems_per_token_dev, 32 * (256.0 + 128.0 / 512));
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_pairs_enumerated),
        cmocka_unit_test(test_moba_snr),
        cmocka_unit_test(test_moba_dense_limit),
        cmocka_unit_test(test_moba_decode_counts),
        cmocka_unit_test(test_moba_short_context),
        cmocka_unit_test(test_nsa_decode_counts),
        cmocka_unit_test(test_nsa_kernels_and_dense_limit),
        cmocka_unit_test(test_dsa_dense_limit_and_counts),
        cmocka_unit_test(test_dsa_example_counts),
        cmocka_unit_test(test_sparse_bad_input),
        cmocka_unit_test(test_sparse_tp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
