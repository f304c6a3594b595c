/* pim_report.c - placement, speedup and energy output; see pim_report.h. */
#include "pim_report.h"

#include "fmt.h"

#define B64 64

void report_pim_summary(FILE *out, const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct place_totals *p = &a->place_tot;
    const struct device *d = v->d;
    char b[4][B64];
    if (d->has_pim) {
        fprintf(out, "Placement (%s PIM: %s/s, %s/s inside the stacks)\n", pim_kind_name(d->pim.kind),
                fmt_si(b[0], B64, d->pim.flops_per_s, "FLOP"),
                fmt_si(b[1], B64, d->pim.bw_bytes_per_s, "B"));
        fprintf(out, "  threshold           %.3g FLOP/B: ops below run faster on PIM "
                     "(PIM FLOP/s / xPU bytes/s)\n",
                p->threshold);
        fprintf(out, "  kernels             %.0f xPU, %.0f PIM, %.0f co-processed%s\n",
                p->ops_side[SIDE_XPU], p->ops_side[SIDE_PIM], p->ops_side[SIDE_CO],
                d->pim.coprocess ? "" : " (co-processing off)");
        fprintf(out, "  time by side        xPU %s, PIM %s, co-processed %s\n",
                fmt_time(b[0], B64, p->time_side_s[SIDE_XPU]),
                fmt_time(b[1], B64, p->time_side_s[SIDE_PIM]),
                fmt_time(b[2], B64, p->time_side_s[SIDE_CO]));
        fprintf(out, "  xPU alone           %s: speedup %.2fx\n", fmt_time(b[0], B64, p->time_xpu_s),
                p->time_xpu_s / p->time_s);
        if (v->base)
            fprintf(out, "  %-19s %s: speedup %.2fx (same model and scenario)\n", v->base_d->name,
                    fmt_time(b[0], B64, v->base->tot.time_s), v->base->tot.time_s / p->time_s);
    }
    if (d->has_energy) {
        const double tokens = a->step.batch * a->step.q_len;
        fprintf(out, "Energy (%s)\n", phase_name(v->sc->phase));
        fprintf(out, "  step                %.4g J, %.4g mJ per token", p->energy_j,
                1e3 * a->energy_per_token_j);
        if (d->has_pim)
            fprintf(out, " (xPU alone %.4g mJ per token, %.0f%% saved)",
                    1e3 * p->energy_xpu_j / tokens, 100.0 * (1 - p->energy_j / p->energy_xpu_j));
        fputc('\n', out);
        if (v->base && v->base->placed)
            fprintf(out, "  %-19s %.4g mJ per token\n", v->base_d->name,
                    1e3 * v->base->energy_per_token_j);
    }
}

#define X(val) fmt_exact(nb, sizeof nb, (val))

static void jn(FILE *out, const char *key, double val)
{
    char nb[64];
    fprintf(out, ", \"%s\": %s", key, X(val));
}

void report_pim_json_totals(FILE *out, const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct place_totals *p = &a->place_tot;
    if (v->d->has_energy) {
        jn(out, "energy_j", p->energy_j);
        jn(out, "energy_per_token_j", a->energy_per_token_j);
        jn(out, "energy_xpu_only_j", p->energy_xpu_j);
    }
    if (!v->d->has_pim) return;
    fprintf(out, ", \"pim_kind\": \"%s\"", pim_kind_name(v->d->pim.kind));
    jn(out, "pim_threshold_intensity", p->threshold);
    jn(out, "time_xpu_only_s", p->time_xpu_s);
    jn(out, "speedup_over_xpu", p->time_xpu_s / p->time_s);
    jn(out, "time_on_xpu_s", p->time_side_s[SIDE_XPU]);
    jn(out, "time_on_pim_s", p->time_side_s[SIDE_PIM]);
    jn(out, "time_coprocessed_s", p->time_side_s[SIDE_CO]);
    if (v->base) {
        fprintf(out, ", \"baseline_hw\": ");
        fmt_json_str(out, v->base_d->name);
        jn(out, "time_baseline_s", v->base->tot.time_s);
        jn(out, "speedup_over_baseline", v->base->tot.time_s / p->time_s);
        if (v->base->placed && v->base_d->has_energy)
            jn(out, "energy_per_token_baseline_j", v->base->energy_per_token_j);
    }
}

void report_pim_json_op(FILE *out, const struct analysis_view *v, int i)
{
    const struct op_place *pl = &v->a->place[i];
    fprintf(out, ", \"placement\": \"%s\"", place_side_name(pl->side));
    jn(out, "t_xpu_s", pl->t_xpu_s);
    jn(out, "t_pim_s", pl->t_pim_s);
    jn(out, "split_units", pl->units);
    jn(out, "split_units_xpu", pl->units_xpu);
    if (v->d->has_energy) jn(out, "energy_j", pl->energy_j);
}

void report_pim_csv_header(FILE *out)
{
    fputs(",placement,t_xpu_s,t_pim_s,split_units,split_units_xpu,energy_j", out);
}

void report_pim_csv_op(FILE *out, const struct analysis_view *v, int i)
{
    char nb[64];
    const struct op_place *pl = &v->a->place[i];
    fprintf(out, ",%s,%s", place_side_name(pl->side), X(pl->t_xpu_s));
    fprintf(out, ",%s", X(pl->t_pim_s));
    fprintf(out, ",%s", X(pl->units));
    fprintf(out, ",%s", X(pl->units_xpu));
    fprintf(out, ",%s", X(pl->energy_j));
}
