/* test_opkinds.c - the op kind table (OP_KINDS, sim/core/graph.c): every kind
 * has every property (name, count function, roofline marker, class,
 * weights rule, placement class), markers are distinct, the collectives are
 * exactly the kinds PIM cannot run; and the head flag lowering puts on ops
 * for serve, with op_set_rows on hand-counted shapes. */
#include "testutil.h"

#include "../models/model.h"

/* Every kind has each property, within its enum (0 = forgotten). */
static void test_opkinds_every_property(void **state)
{
    (void)state;
    for (int k = 0; k < OP_COUNT; k++) {
        const enum op_kind kd = (enum op_kind)k;
        assert_non_null(op_kind_name(kd));
        assert_true(op_kind_name(kd)[0] != '\0');
        assert_true(op_kind_counted(kd));
        assert_true(op_kind_class(kd) >= OPC_MATMUL && op_kind_class(kd) < OPC_COUNT);
        assert_true(op_kind_weights(kd) >= OPW_NONE && op_kind_weights(kd) < OPW_COUNT);
        assert_true(op_kind_place_class(kd) >= OPP_WHOLE &&
                    op_kind_place_class(kd) < OPP_COUNT);
        const struct op_marker mk = op_kind_marker(kd);
        /* a letter, or two gnuplot point types 1..15 (0 is gnuplot's dot) */
        if (mk.glyph) {
            assert_true(mk.glyph > ' ' && mk.glyph < 127);
        } else {
            assert_true(mk.open >= 1 && mk.open <= 15);
            assert_true(mk.filled >= 1 && mk.filled <= 15);
        }
        for (int j = 0; j < k; j++) {
            const struct op_marker o = op_kind_marker((enum op_kind)j);
            assert_string_not_equal(op_kind_name((enum op_kind)j), op_kind_name(kd));
            /* distinct markers: no two kinds draw alike in either phase */
            if (mk.glyph || o.glyph) {
                assert_true(mk.glyph != o.glyph);
            } else {
                assert_true(mk.open != o.open && mk.filled != o.filled);
                assert_true(mk.open != o.filled && mk.filled != o.open);
            }
        }
        /* a collective is exactly a kind PIM cannot run */
        assert_int_equal(op_kind_collective(kd), op_kind_place_class(kd) == OPP_XPU_ONLY);
    }
    /* the kinds the issue named: scans and all-to-alls were dots (pt 0) */
    assert_int_equal(op_kind_marker(OP_SCAN).glyph, 'S');
    assert_int_equal(op_kind_marker(OP_ALLTOALL).glyph, 'A');
    /* the three collectives, and nothing else */
    int n = 0;
    for (int k = 0; k < OP_COUNT; k++) n += op_kind_collective((enum op_kind)k);
    assert_int_equal(n, 3);
    assert_true(op_kind_collective(OP_ALLREDUCE) && op_kind_collective(OP_ALLTOALL) &&
                op_kind_collective(OP_ALLGATHER));
    /* the merge rule serve relied on: a GEMM's weights are shared, a batched
     * GEMM's (MoBA's gate: the queries) belong to each sequence */
    assert_int_equal(op_kind_weights(OP_GEMM), OPW_SHARED);
    assert_int_equal(op_kind_weights(OP_BATCHED_GEMM), OPW_PER_SEQ);
    assert_int_equal(op_kind_place_class(OP_ATTENTION), OPP_SPLIT_SEQS);
    assert_int_equal(op_kind_place_class(OP_BATCHED_GEMM), OPP_SPLIT_EXPERTS);
}

/* op_set_rows: a GEMM of m = 4 rows, n = 10, k = 8 recounted at 3 rows:
 * flops = 2*3*10*8 = 480; activations read 3*8*2 B (bf16) = 48 B; output
 * 3*10*2 = 60 B; weights 8*10*2 = 160 B unchanged. An all-gather of 4 x 8 over
 * 2 devices at 3 rows: each device receives (N-1)/N of the 3 x 8 tensor,
 * 1/2 * 24 * 2 B = 24 B. */
static void test_opkinds_set_rows(void **state)
{
    (void)state;
    struct graph g;
    assert_int_equal(graph_init(&g, 4), 0);
    g.dt_w = g.dt_act = g.dt_kv = DT_BF16;
    struct op *gm = op_gemm(&g, "lm_head", 4, 10, 8, false);
    op_set_rows(gm, 3);
    assert_exact(gm->cost.flops_mm, 480);
    assert_exact(gm->cost.bytes_act, 48);
    assert_exact(gm->cost.bytes_out, 60);
    assert_exact(gm->cost.bytes_w, 160);
    struct op *ag = op_allgather(&g, "logits_allgather", 4, 8, 2);
    op_set_rows(ag, 3);
    assert_exact(ag->cost.bytes_net, 24);
    graph_free(&g);
}

/* Lowering flags: under tp 2 the head is exactly lm_head and the logits
 * all-gather. */
static void test_opkinds_lowering_flags(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    assert_non_null(m);
    struct graph g;
    assert_int_equal(graph_init(&g, model_max_ops(m)), 0);
    const struct step st = {.phase = PHASE_DECODE, .batch = 2, .q_len = 1, .ctx_prior = 16,
                            .tp = 2, .ep = 1, .dt_w = DT_BF16, .dt_act = DT_BF16,
                            .dt_kv = DT_BF16};
    model_lower(m, &st, &g);
    int heads = 0;
    for (int i = 0; i < g.n; i++) {
        const struct op *o = &g.ops[i];
        if (o->head) {
            heads++;
            assert_true((o->kind == OP_GEMM && strcmp(o->name, "lm_head") == 0) ||
                        (o->kind == OP_ALLGATHER && strcmp(o->name, "logits_allgather") == 0));
        }
    }
    assert_int_equal(heads, 2);
    graph_free(&g);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opkinds_every_property),
        cmocka_unit_test(test_opkinds_set_rows),
        cmocka_unit_test(test_opkinds_lowering_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
