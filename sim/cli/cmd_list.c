/* cmd_list.c - `opbound list models|hw|kinds|profiles`: what is bundled. */
#include <stdio.h>
#include <string.h>

#include "../../reports/fmt.h"
#include "../core/catalog.h"
#include "cli.h"

static const struct cli_opt OPTS[] = {CLI_OPT_END};

const struct cli_cmd CLI_LIST = {
    .name = "list",
    .brief = "list models|hw|kinds|profiles",
    .summary = "bundled models, devices, block kinds",
    .usage = "opbound list models|hw|kinds|profiles",
    .about = "models   bundled models: name, family, parameters, active parameters, KV cache per\n"
             "         token (memory held: binary units, KiB = 2^10 B)\n"
             "hw       bundled devices: memory (GiB = 2^30 B), bandwidth (decimal TB/s),\n"
             "         bf16 tensor peak, ridge point, calibration (calibrated / not calibrated,\n"
             "         and how many implementation priors: entries NOT measured, derived\n"
             "         from a measured one; listed under the table with their sources)\n"
             "kinds    attention and FFN block kinds a model can use\n"
             "profiles implementation profiles (--profile NAME; docs/profiles.md)\n"
             "\n"
             "Bundled files are read from the data folder (OPBOUND_DATA, else beside the\n"
             "program); the folder used is printed under the table.\n",
    .opts = OPTS,
};

static const char *slot_kind_name(const struct model *m, enum block_slot s)
{
    const char *first = m->groups[0].kind[s]->name;
    for (int i = 1; i < m->n_groups; i++)
        if (strcmp(m->groups[i].kind[s]->name, first) != 0) return "mixed";
    return first;
}

int cmd_list(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(&CLI_LIST, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_LIST, stdout);
        return 0;
    }
    if (a.npos != 1) return cli_fail("list", "expected one of models, hw, kinds or profiles");
    argv = (char **)a.pos;
    static char names[256][64];
    char b[4][64];
    struct err e;
    if (strcmp(argv[0], "models") == 0) {
        static const char *const hdr[] = {"name",  "family", "params", "active",
                                          "attention", "ffn", "KV/token", "dtypes"};
        struct table t;
        table_init(&t, 8, hdr, "llrrllrl");
        int n = catalog_list("models", names, 256, &e);
        if (n < 0) {
            table_free(&t);
            return cli_fail_err(&e);
        }
        for (int i = 0; i < n; i++) {
            struct model *m;
            if (cli_load_model(names[i], &m, &e)) {
                table_free(&t);
                return cli_fail_err(&e);
            }
            struct model_counts c;
            model_count(m, 1, &c);
            table_row(&t);
            table_cell(&t, 0, "%s", names[i]);
            table_cell(&t, 1, "%s", m->family);
            table_cell(&t, 2, "%s", fmt_si(b[0], 64, c.params, ""));
            table_cell(&t, 3, "%s", fmt_si(b[1], 64, c.active_params, ""));
            table_cell(&t, 4, "%s", slot_kind_name(m, SLOT_ATTN));
            table_cell(&t, 5, "%s", slot_kind_name(m, SLOT_FFN));
            table_cell(&t, 6, "%s", fmt_bin(b[2], 64, c.kv_elems_per_token * dtype_bytes(m->dt_kv)));
            table_cell(&t, 7, "w %s, kv %s", dtype_name(m->dt_w), dtype_name(m->dt_kv));
            model_free(m);
        }
        table_print(&t, stdout);
        table_free(&t);
        printf("\n(from %s/models; KV/token at the model's KV dtype, all layers)\n", catalog_dir());
        return 0;
    }
    if (strcmp(argv[0], "hw") == 0) {
        static const char *const hdr[] = {"name", "device", "memory", "bandwidth", "bf16 tensor",
                                          "ridge (bf16)", "calibration"};
        struct table t;
        table_init(&t, 7, hdr, "llrrrrl");
        int n = catalog_list("hw", names, 256, &e);
        if (n < 0) {
            table_free(&t);
            return cli_fail_err(&e);
        }
        for (int i = 0; i < n; i++) {
            struct device *d;
            if (cli_load_device(names[i], &d, &e)) {
                table_free(&t);
                return cli_fail_err(&e);
            }
            table_row(&t);
            table_cell(&t, 0, "%s", names[i]);
            table_cell(&t, 1, "%s", d->name);
            table_cell(&t, 2, "%s", fmt_bin(b[0], 64, d->mem_capacity_bytes));
            table_cell(&t, 3, "%s/s", fmt_si(b[1], 64, d->mem_rate, "B"));
            table_cell(&t, 4, "%s/s", fmt_si(b[2], 64, d->tensor_rate[DT_BF16], "FLOP"));
            table_cell(&t, 5, "%.0f FLOP/B", device_ridge(d, DT_BF16));
            /* "calibrated" (entries from measurements, docs/measurements.md) or
             * "not calibrated" (datasheet priors only) */
            char pri[256];
            const int np = device_priors_describe(d, pri, sizeof pri);
            table_cell(&t, 6, "%s%s%.0d%s", device_cal_count(d) ? "calibrated" : "not calibrated",
                       np ? " + " : "", np, np ? " priors" : "");
            device_free(d);
        }
        table_print(&t, stdout);
        table_free(&t);
        int shown = 0;
        for (int i = 0; i < n; i++) { /* the priors, with what they scale and their source */
            struct device *d;
            if (cli_load_device(names[i], &d, &e)) return cli_fail_err(&e);
            for (int q = 0; q < d->n_priors; q++) {
                const struct impl_prior *pr = &d->priors[q];
                if (!d->cal[pr->kind][pr->impl][pr->phase].prior) continue;
                char name[96];
                device_cal_name(pr->kind, pr->impl, pr->phase, name, sizeof name);
                if (!shown++) printf("\nimplementation priors (NOT measured; docs/measurements.md, \"Priors\"):\n");
                printf("  %-14s %-29s = %s x%.3g compute, x%.3g memory: %s\n", names[i], name,
                       op_impl_name((enum op_impl)pr->from), pr->compute, pr->memory, pr->source);
            }
            device_free(d);
        }
        printf("\n(from %s/hw)\n", catalog_dir());
        return 0;
    }
    if (strcmp(argv[0], "kinds") == 0) {
        for (int i = 0; block_kind_at(i); i++) {
            const struct block_kind *k = block_kind_at(i);
            printf("%-10s %-9s %s\n", k->name, k->slot == SLOT_ATTN ? "attention" : "ffn",
                   k->summary);
        }
        return 0;
    }
    if (strcmp(argv[0], "profiles") == 0) {
        int n = catalog_list("models/profiles", names, 256, &e);
        if (n < 0) return cli_fail_err(&e);
        for (int i = 0; i < n; i++) {
            char path[1024];
            struct profile *p = NULL;
            if (catalog_resolve("models/profiles", names[i], path, sizeof path, &e) ||
                profile_load(path, &p, &e))
                return cli_fail_err(&e);
            printf("%-10s %-6s %s\n", names[i], profile_launch(p)[0] ? profile_launch(p) : "-",
                   profile_summary(p));
            profile_free(p);
        }
        printf("\n(from %s/models/profiles; launch: how the code launches kernels)\n",
               catalog_dir());
        return 0;
    }
    return cli_fail("list", "unknown list '%s' (models, hw, kinds or profiles)", argv[0]);
}

