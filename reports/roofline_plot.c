/* roofline_plot.c - the roofline chart of one device with every op of a set
 * of models as a point: NAME.dat (one row per op, one gnuplot `index` block
 * per model and phase) and NAME.gp (ceilings as an inline data block, styles,
 * labels), which draws NAME.png and NAME.svg. Used by `opbound roofline` and
 * `opbound report`; see roofline_plot.h and docs/plots.md. */
#include "roofline_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "plot.h"

#define RL_MAX_MODELS ROOFLINE_MAX_MODELS
#define RL_MAX_CEIL 16

/* The gnuplot point type of op kind k (its marker in OP_KINDS, graph.h): a
 * number, or a one-character string for kinds drawn as a letter. */
static void fprint_pt(FILE *f, enum op_kind k, bool open)
{
    const struct op_marker mk = op_kind_marker(k);
    if (mk.glyph) fprintf(f, "\"%c\"", mk.glyph);
    else fprintf(f, "%d", open ? mk.open : mk.filled);
}

/* Chart geometry (screen fractions of W x H): the plot area and the key column. */
#define RL_W 1400
#define RL_H 900
#define RL_L 0.115
#define RL_R 0.72
#define RL_B 0.09
#define RL_T 0.88

struct ceiling {
    double rate;
    char tensor[64], vector[64]; /* dtypes with this rate, "fp8/int8" */
    bool strong;                 /* a rate the models run at (activation dtype) */
};

struct rl {
    const char *cmd_line;
    const struct device *d;
    int nm, nph;
    const struct model *m[RL_MAX_MODELS];
    const char *label[RL_MAX_MODELS]; /* legend names */
    const char *title;
    struct analysis an[RL_MAX_MODELS];
    struct scenario sc[2];
    bool achieved;
    bool kinds_seen[OP_COUNT];
    double xmin, xmax, ymin, ymax; /* of the points */
    struct ceiling ceil[RL_MAX_CEIL];
    int nceil;
};

static double decade_floor(double v) { return pow(10, floor(log10(v))); }
static double decade_ceil(double v) { return pow(10, ceil(log10(v))); }

static void add_ceiling(struct rl *r, double rate, enum dtype dt, bool tensor, bool strong)
{
    struct ceiling *c = NULL;
    for (int i = 0; i < r->nceil; i++)
        if (r->ceil[i].rate == rate) c = &r->ceil[i];
    if (!c) {
        if (r->nceil == RL_MAX_CEIL) return;
        c = &r->ceil[r->nceil++];
        memset(c, 0, sizeof *c);
        c->rate = rate;
    }
    /* A device's fp32 "matmul" peak is the CUDA-core rate (no TF32: the
     * device schema's fp32 tensor key), so it is labelled with the CUDA-core
     * peaks, once. */
    if (dt == DT_FP32) tensor = false;
    char *list = tensor ? c->tensor : c->vector;
    size_t n = strlen(list);
    for (const char *p = strstr(list, dtype_name(dt)); p; p = strstr(p + 1, dtype_name(dt)))
        if ((p == list || p[-1] == '/') && (p[strlen(dtype_name(dt))] == 0 ||
                                             p[strlen(dtype_name(dt))] == '/')) {
            c->strong |= strong;
            return;
        }
    snprintf(list + n, sizeof c->tensor - n, "%s%s", n ? "/" : "", dtype_name(dt));
    c->strong |= strong;
}

static void ceiling_label(char *buf, size_t n, const struct ceiling *c)
{
    char rate[64];
    fmt_si(rate, sizeof rate, c->rate, "FLOP/s");
    if (c->tensor[0] && c->vector[0])
        snprintf(buf, n, "%s tensor, %s (CUDA cores) %s", c->tensor, c->vector, rate);
    else
        snprintf(buf, n, "%s %s %s", c->tensor[0] ? c->tensor : c->vector,
                 c->tensor[0] ? "tensor" : "(CUDA cores)", rate);
}

/* Tensor peaks of every dtype the device lists, plus the activation dtypes of
 * the models (at the rate they run at) and their vector peaks; equal rates share
 * one line. Sorted from the highest down. */
static void collect_ceilings(struct rl *r)
{
    const struct device *d = r->d;
    bool act[DT_COUNT] = {false};
    for (int i = 0; i < r->nm; i++) act[r->an[i].step.dt_act] = true;
    for (int dt = 0; dt < DT_COUNT; dt++)
        if (d->tensor_flops_per_s[dt] > 0 || act[dt])
            add_ceiling(r, d->tensor_rate[dt], (enum dtype)dt, true, act[dt]);
    for (int dt = 0; dt < DT_COUNT; dt++)
        if (act[dt]) add_ceiling(r, d->vector_rate[dt], (enum dtype)dt, false, false);
    for (int i = 1; i < r->nceil; i++)
        for (int k = i; k > 0 && r->ceil[k].rate > r->ceil[k - 1].rate; k--) {
            struct ceiling t = r->ceil[k];
            r->ceil[k] = r->ceil[k - 1];
            r->ceil[k - 1] = t;
        }
}

static void scenario_text(char *buf, size_t n, const struct scenario *sc)
{
    if (sc->phase == PHASE_PREFILL)
        snprintf(buf, n, "prefill: batch %.0f, prompt %.0f tokens", sc->batch, sc->seq);
    else
        snprintf(buf, n, "decode: batch %.0f, context %.0f", sc->batch, sc->context);
    if (sc->tp > 1) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, ", %.0f-way tensor parallel (per device)", sc->tp);
    }
}

/* The point's hover text as one quoted column: quotes in names are dropped
 * (they would end the string in gnuplot or in the SVG). */
static void hover(FILE *f, const char *model, const char *phase, const struct op *op,
                  const struct op_eval *ev)
{
    char lay[48], t[32], text[512];
    if (op->layer_first < 0) snprintf(lay, sizeof lay, "outside the layers");
    else if (op->layer_count > 1)
        snprintf(lay, sizeof lay, "layers %d-%d", op->layer_first,
                 op->layer_first + op->layer_count - 1);
    else snprintf(lay, sizeof lay, "layer %d", op->layer_first);
    snprintf(text, sizeof text, "%s (%s), %s; %s, %s; %.3g Op/B; %s per layer, %s-bound",
             op->name, op_kind_name(op->kind), lay, model, phase, ev->intensity,
             fmt_time(t, sizeof t, ev->time_s), bound_name(ev->bound));
    fputc('"', f);
    for (const char *c = text; *c; c++)
        if (*c != '"' && *c != '\'' && *c != '\\') fputc(*c, f);
    fputs("\"\n", f);
}

/* The points: one block per model and phase (gnuplot `index` counts them). */
static void write_dat(FILE *f, struct rl *r)
{
    char nb[64];
    fprintf(f, "# opbound roofline data, made by: %s\n", r->cmd_line);
    fprintf(f, "# device %s; one row per op (figures per layer, as `opbound analyze --format "
               "json` ops[]);\n", r->d->name);
    fprintf(f, "# rate_roof = flops / max(t_compute, t_memory, t_network) (kernel overhead "
               "excluded), rate_achieved = flops / time_s.\n");
    fprintf(f, "# Ops with no FLOPs or no bytes (log axes cannot show them) are listed as "
               "comments. One block per model and phase.\n");
    fprintf(f, "# model phase group layer layer_count name kind kind_id flops bytes intensity "
               "t_compute_s t_memory_s t_network_s time_s rate_roof rate_achieved bound hover\n");
    fprintf(f, "# hover: the text an SVG reader shows over the point (op, kind, layers, model, "
               "phase, Op/B, time)\n");
    r->xmin = r->ymin = INFINITY;
    r->xmax = r->ymax = 0;
    int block = 0;
    for (int mi = 0; mi < r->nm; mi++)
        for (int p = 0; p < r->nph; p++) {
            struct analysis *an = &r->an[mi];
            analysis_run(an, r->m[mi], r->d, &r->sc[p]);
            fprintf(f, "%s# block %d: model %s, %s\n", block ? "\n\n" : "\n", block,
                    r->label[mi], phase_name(r->sc[p].phase));
            block++;
            for (int i = 0; i < an->graph.n; i++) {
                const struct op *op = &an->graph.ops[i];
                const struct op_eval *ev = &an->per_op[i];
                double t = fmax(ev->t_compute_s, fmax(ev->t_memory_s, ev->t_network_s));
                bool drawn = ev->flops > 0 && ev->bytes > 0 && t > 0;
                double roof = drawn ? ev->flops / t : 0, ach = ev->flops / ev->time_s;
                fprintf(f, "%s\"%s\" %s %d %d %d %s %s %d", drawn ? "" : "# ", r->label[mi],
                        phase_name(r->sc[p].phase), op->group, op->layer_first, op->layer_count,
                        op->name, op_kind_name(op->kind), (int)op->kind);
                const double v[] = {ev->flops,     ev->bytes,       ev->intensity, ev->t_compute_s,
                                    ev->t_memory_s, ev->t_network_s, ev->time_s,    roof, ach};
                for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
                    fprintf(f, " %s", fmt_exact(nb, sizeof nb, v[k]));
                fprintf(f, " %s ", bound_name(ev->bound));
                hover(f, r->label[mi], phase_name(r->sc[p].phase), op, ev);
                if (!drawn) continue;
                double y = r->achieved ? ach : roof;
                r->kinds_seen[op->kind] = true;
                r->xmin = fmin(r->xmin, ev->intensity);
                r->xmax = fmax(r->xmax, ev->intensity);
                r->ymin = fmin(r->ymin, y);
                r->ymax = fmax(r->ymax, y);
            }
        }
    if (!(r->xmax > 0)) r->xmin = 0.1, r->xmax = 100, r->ymin = 1e9, r->ymax = 1e12;
}

static void write_gp(FILE *f, struct rl *r, const char *base)
{
    const struct device *d = r->d;
    char b1[64], b2[512];
    collect_ceilings(r);
    const double top = r->ceil[0].rate;
    double ridge_max = top / d->mem_rate;
    const double xlo = decade_floor(fmin(r->xmin, 1.0) / 1.5);
    const double xhi = decade_ceil(fmax(r->xmax, ridge_max) * 3);
    const double ylo = decade_floor(fmin(r->ymin, r->ceil[r->nceil - 1].rate) / 2);
    const double yhi = decade_ceil(fmax(top, r->ymax) * 4);
    const double xdec = log10(xhi / xlo), ydec = log10(yhi / ylo);
    const double px_x = (RL_R - RL_L) * RL_W / xdec, px_y = (RL_T - RL_B) * RL_H / ydec;

    fprintf(f, "# %s.gp - roofline chart, made by: %s\n", base, r->cmd_line);
    fprintf(f, "# Restyle and redraw from this folder: gnuplot %s.gp\n", base);
    fprintf(f, "# Points: %s.dat (one block per model and phase; columns in its header).\n",
            base);
    snprintf(b2, sizeof b2, "%s.png", base);
    fprintf(f, "if (!exists(\"png_file\")) png_file = ");
    plot_gp_str(f, b2);
    snprintf(b2, sizeof b2, "%s.svg", base);
    fprintf(f, "\nif (!exists(\"svg_file\")) svg_file = ");
    plot_gp_str(f, b2);
    snprintf(b2, sizeof b2, "%s.dat", base);
    fprintf(f, "\nDATA = ");
    plot_gp_str(f, b2);
    fprintf(f, "\n\n");
    fprintf(f, "# device %s (efficiency factors applied)\n", d->name);
    fprintf(f, "BW = %.17g  # memory, bytes/s\n", d->mem_rate);
    fprintf(f, "XMIN = %g; XMAX = %g; YMIN = %g; YMAX = %g\n", xlo, xhi, ylo, yhi);
    fprintf(f, "# point type per op kind (column kind_id): open for decode, filled for "
               "prefill; a letter for both\narray PT_OPEN[%d] = [", OP_COUNT);
    for (int k = 0; k < OP_COUNT; k++) {
        fputs(k ? ", " : "", f);
        fprint_pt(f, (enum op_kind)k, true);
    }
    fprintf(f, "]\narray PT_FILLED[%d] = [", OP_COUNT);
    for (int k = 0; k < OP_COUNT; k++) {
        fputs(k ? ", " : "", f);
        fprint_pt(f, (enum op_kind)k, false);
    }
    fprintf(f, "]\n\n");

    fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'sans,12'\n", RL_W, RL_H);
    fprintf(f, "set output png_file\n");
    fprintf(f, "set logscale xy 10\nset xrange [XMIN:XMAX]\nset yrange [YMIN:YMAX]\n");
    fprintf(f, "set format x '%%g'\nset format y '%%.0s %%cFLOP/s'\n");
    fprintf(f, "set xlabel 'arithmetic intensity (FLOP/byte)'\n");
    fprintf(f, "set ylabel 'attainable performance (FLOP/s)'\n");
    fprintf(f, "set grid xtics ytics lc rgb '#dddddd' lt 1\n");
    fprintf(f, "set lmargin at screen %g; set rmargin at screen %g\n", RL_L, RL_R);
    fprintf(f, "set bmargin at screen %g; set tmargin at screen %g\n", RL_B, RL_T);
    size_t k = (size_t)snprintf(b2, sizeof b2, "Roofline of %s: ", d->name);
    for (int i = 0; i < r->nm && k < sizeof b2; i++)
        k += (size_t)snprintf(b2 + k, sizeof b2 - k, "%s%s", i ? ", " : "", r->label[i]);
    if (r->title) snprintf(b2, sizeof b2, "%s", r->title);
    fprintf(f, "set label 100 ");
    plot_gp_str(f, b2);
    fprintf(f, " at screen 0.5, screen 0.965 center font 'sans,15'\n");
    k = 0;
    for (int p = 0; p < r->nph && k < sizeof b2; p++) {
        char s[160];
        scenario_text(s, sizeof s, &r->sc[p]);
        k += (size_t)snprintf(b2 + k, sizeof b2 - k, "%s%s", p ? "   |   " : "", s);
    }
    fprintf(f, "set label 101 ");
    plot_gp_str(f, b2);
    fprintf(f, " at screen 0.5, screen 0.925 center\n\n");

    /* ceilings: segments as an inline data block (x y pairs, one block each) */
    fprintf(f, "# ceilings: block 0 = memory slope BW*x up to the highest peak; then one\n"
               "# horizontal line per peak from its ridge point (peak / BW) rightwards\n");
    fprintf(f, "$ceilings << EOD\n%.17g %.17g\n%.17g %.17g\n", xlo, d->mem_rate * xlo,
            ridge_max, top);
    for (int i = 0; i < r->nceil; i++)
        fprintf(f, "\n\n%.17g %.17g\n%.17g %.17g\n", r->ceil[i].rate / d->mem_rate,
                r->ceil[i].rate, xhi, r->ceil[i].rate);
    fprintf(f, "EOD\n");
    /* Labels: left-aligned in the empty corner above the memory slope, each
     * just above its line (below it when the line above is too close). */
    double last_px = INFINITY;
    for (int i = 0; i < r->nceil; i++) {
        const struct ceiling *c = &r->ceil[i];
        double at_px = log10(c->rate / ylo) * px_y;
        bool below = last_px - at_px < 22;
        ceiling_label(b2, sizeof b2, c);
        fprintf(f, "set label %d ", i + 1);
        plot_gp_str(f, b2);
        fprintf(f, " at XMIN*%g, %.17g left tc rgb '%s'\n", pow(10, 8 / px_x),
                c->rate * pow(10, (below ? -16.0 : 9.0) / px_y), c->strong ? "#000000" : "#555555");
        last_px = below ? at_px - 22 : at_px;
    }
    /* memory label along the slope, low on the chart */
    const double angle = atan2(px_y, px_x) * 180 / 3.14159265358979323846;
    double ly = fmax(ylo * pow(10, 60 / px_y), d->mem_rate * xlo * pow(10, 40 / px_x));
    fprintf(f, "set label %d ", r->nceil + 1);
    plot_gp_str(f, fmt_si(b1, sizeof b1, d->mem_rate, "B/s"));
    fprintf(f, " . ' memory' at %.17g, %.17g left rotate by %.1f tc rgb '#000000'\n",
            ly / d->mem_rate, ly * pow(10, 36 / px_y), angle);
    fprintf(f, "set label %d \"%s\\n%s\\n%s\" at screen %g, screen 0.2 left font 'sans,10'\n",
            r->nceil + 2, "points: one per op, figures per layer",
            r->achieved ? "y = FLOPs / op time" : "y = FLOPs / roofline time",
            r->achieved ? "(kernel overhead included)" : "(kernel overhead excluded)",
            RL_R + 0.03);
    fprintf(f, "set key at screen %g, screen %g left top Left reverse samplen 1 spacing 1.15 "
               "noautotitle\n\n",
            RL_R + 0.03, RL_T);

    fprintf(f, "plot $ceilings index 0 with lines lw 2 lc rgb '#000000', \\\n");
    for (int i = 0; i < r->nceil; i++)
        fprintf(f, "     $ceilings index %d with lines lw %d dt %d lc rgb '%s', \\\n", i + 1,
                r->ceil[i].strong ? 2 : 1, r->ceil[i].strong ? 1 : 2,
                r->ceil[i].strong ? "#000000" : "#777777");
    const char *ycol = r->achieved ? "17" : "16";
    int block = 0;
    for (int mi = 0; mi < r->nm; mi++)
        for (int p = 0; p < r->nph; p++, block++) {
            bool open = r->nph == 2 && r->sc[p].phase == PHASE_DECODE;
            /* later models smaller, so points that coincide stay visible */
            /* labels hypertext: the point plus its hover text in the SVG */
            fprintf(f, "     DATA index %d using 11:%s:19:(%s[$8+1]) with labels hypertext "
                       "point pt variable ps %.2f lw 1.5 lc rgb '%s', \\\n",
                    block, ycol, open ? "PT_OPEN" : "PT_FILLED", 2.0 - 1.0 * mi / r->nm,
                    PLOT_COLORS[mi]);
        }
    /* the key: models by colour, op kinds by shape, phases by fill */
    fprintf(f, "     keyentry title 'model', \\\n");
    for (int mi = 0; mi < r->nm; mi++) {
        fprintf(f, "     keyentry with points pt 7 ps 1.5 lc rgb '%s' title ", PLOT_COLORS[mi]);
        plot_gp_str(f, r->label[mi]);
        fprintf(f, ", \\\n");
    }
    fprintf(f, "     keyentry title ' ', keyentry title 'op kind', \\\n");
    for (int kd = 0; kd < OP_COUNT; kd++)
        if (r->kinds_seen[kd]) {
            fprintf(f, "     keyentry with points pt ");
            fprint_pt(f, (enum op_kind)kd, r->nph == 2);
            fprintf(f, " ps 1.5 lc rgb '#333333' title '%s', \\\n",
                    op_kind_name((enum op_kind)kd));
        }
    if (r->nph == 2)
        fprintf(f, "     keyentry title ' ', keyentry title 'phase', \\\n"
                   "     keyentry with points pt 7 ps 1.5 lc rgb '#333333' title 'prefill (filled)', \\\n"
                   "     keyentry with points pt 6 ps 1.5 lc rgb '#333333' title 'decode (open)', \\\n");
    fprintf(f, "     keyentry title ' ', keyentry title 'ceilings (black: the models'' dtype)', \\\n");
    fprintf(f, "     keyentry with lines lw 2 lc rgb '#000000' title 'peak or bandwidth', \\\n");
    fprintf(f, "     keyentry with lines lw 1 dt 2 lc rgb '#777777' title 'other dtypes'\n\n");
    fprintf(f, "set terminal svg size %d,%d dynamic noenhanced font 'sans,12' background "
               "rgb 'white'\n",
            RL_W, RL_H);
    fprintf(f, "set output svg_file\nreplot\nset output\n");
}

int roofline_plot_write(const struct roofline_plot *p, const char *dir, const char *base,
                        struct err *e)
{
    OB_ASSERT(p->n >= 1 && p->n <= RL_MAX_MODELS && p->nph >= 1 && p->nph <= 2);
    struct rl *r = calloc(1, sizeof *r); /* large: one analysis per model */
    if (!r) return err_set(e, dir, 0, 0, "out of memory");
    r->cmd_line = p->cmd_line;
    r->d = p->d;
    r->nph = p->nph;
    r->achieved = p->achieved;
    r->title = p->title;
    for (int p_i = 0; p_i < p->nph; p_i++) r->sc[p_i] = p->sc[p_i];
    int rc = 0;
    for (int i = 0; i < p->n; i++) {
        r->m[i] = p->m[i];
        r->label[i] = p->label[i] ? p->label[i] : p->m[i]->name;
        if (analysis_init(&r->an[i], p->m[i])) {
            rc = err_set(e, dir, 0, 0, "out of memory");
            break;
        }
        r->nm = i + 1;
    }
    char path[PLOT_PATH_MAX], name[PLOT_PATH_MAX];
    struct plot_out o;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        snprintf(name, sizeof name, "%s.%s", base, pass ? "gp" : "dat");
        if (plot_path(path, sizeof path, dir, name)) {
            rc = err_set(e, dir, 0, 0, "path too long");
            break;
        }
        if ((rc = plot_out_open(&o, path, e))) break;
        if (pass) write_gp(o.f, r, base);
        else write_dat(o.f, r); /* runs the analyses; write_gp uses the ranges */
        rc = plot_out_commit(&o, e);
    }
    for (int i = 0; i < r->nm; i++) analysis_free(&r->an[i]);
    free(r);
    return rc;
}
