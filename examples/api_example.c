/* api_example.c - the public C API (opbound.h, docs/api.md) in one program:
 * a decode step of MODEL on HW at a context and batch, its totals and its
 * three slowest ops.
 *
 *   cc api_example.c $(pkg-config --cflags --libs opbound) -o api_example
 *   ./api_example llama-3-8b h100 8192 32
 *
 * prints the same time per output token as
 *   opbound analyze llama-3-8b --hw h100 --phase decode --context 8192 --batch 32
 */
#include <opbound.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL HW CONTEXT BATCH\n", argv[0]);
        return 2;
    }
    ob_error err;
    char msg[1400];
    ob_model *m = NULL;
    ob_device *d = NULL;
    if (ob_model_load(argv[1], &m, &err) != OB_OK || ob_device_load(argv[2], &d, &err) != OB_OK) {
        fprintf(stderr, "%s\n", ob_error_format(&err, msg, sizeof msg));
        ob_model_free(m);
        return 2;
    }
    ob_scenario *sc = ob_scenario_new(OB_DECODE);
    if (!sc) return 1;
    ob_scenario_set_context(sc, atof(argv[3]));
    ob_scenario_set_batch(sc, atof(argv[4]));
    ob_result *r = NULL;
    ob_status st = ob_evaluate(m, d, sc, &r, &err);
    if (st != OB_OK) {
        fprintf(stderr, "%s\n", ob_error_format(&err, msg, sizeof msg));
        ob_scenario_free(sc);
        ob_device_free(d);
        ob_model_free(m);
        return st == OB_ENOMEM ? 1 : 2;
    }
    printf("%s on %s, decode at context %s, batch %s\n", ob_model_name(m), ob_device_name(d),
           argv[3], argv[4]);
    printf("time per output token  %.6g ms\n", 1e3 * ob_result_total(r, OB_TPOT_S));
    printf("tokens per second      %.6g\n", ob_result_total(r, OB_TOKENS_PER_S));
    printf("memory                 %.6g GiB of %.6g GiB (%s)\n",
           ob_result_total(r, OB_MEMORY_BYTES) / 1073741824.0,
           ob_result_total(r, OB_CAPACITY_BYTES) / 1073741824.0,
           ob_result_total(r, OB_FITS) ? "fits" : "does not fit");
    /* the three slowest op nodes, counting every layer each stands for */
    int top[3] = {-1, -1, -1};
    for (int i = 0; i < ob_result_op_count(r); i++) {
        double t = ob_result_op(r, i, OB_OP_TIME_S) * ob_result_op(r, i, OB_OP_LAYERS);
        for (int k = 0; k < 3; k++) {
            double tk = top[k] < 0 ? -1
                                   : ob_result_op(r, top[k], OB_OP_TIME_S) *
                                         ob_result_op(r, top[k], OB_OP_LAYERS);
            if (t > tk) {
                for (int j = 2; j > k; j--) top[j] = top[j - 1];
                top[k] = i;
                break;
            }
        }
    }
    for (int k = 0; k < 3 && top[k] >= 0; k++) {
        int i = top[k];
        printf("  %-14s %-10s %-8s x%-3.0f %.6g us per layer, %.3g FLOP/B\n",
               ob_result_op_name(r, i), ob_result_op_kind(r, i), ob_result_op_bound(r, i),
               ob_result_op(r, i, OB_OP_LAYERS), 1e6 * ob_result_op(r, i, OB_OP_TIME_S),
               ob_result_op(r, i, OB_OP_INTENSITY));
    }
    ob_result_free(r);
    ob_scenario_free(sc);
    ob_device_free(d);
    ob_model_free(m);
    return 0;
}
