/* report_charts.c - curve and breakdown charts of `opbound report`; see
 * report_charts.h. */
#include "report_charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "plot.h"

/* Filled and open forms of the same shape (cairo terminals): circle, square,
 * triangle, inverted triangle, diamond, pentagon. */
#define NSHAPES 6
static const int PT_FILLED[NSHAPES] = {7, 5, 9, 11, 13, 15};
static const int PT_OPEN[NSHAPES] = {6, 4, 8, 10, 12, 14};

/* Style of curve g: colour and shape both change from one curve to the next;
 * after the colours run out, the dash changes too. */
static const char *curve_color(int g) { return PLOT_COLORS[g % PLOT_NCOLORS]; }
static int curve_shape(int g) { return g % NSHAPES; }
static int curve_dash(int g) { return 1 + (g / PLOT_NCOLORS) % 5; }

static void count_label(char *buf, size_t n, double v)
{
    if (v >= 1048576 && fmod(v, 1048576) == 0) snprintf(buf, n, "%.0fm", v / 1048576);
    else if (v >= 1024 && fmod(v, 1024) == 0) snprintf(buf, n, "%.0fk", v / 1024);
    else snprintf(buf, n, "%.0f", v);
}

static bool same_curve(const struct curves *c, int a, int b)
{
    for (int j = 0; j < c->nx; j++)
        if (c->y[a * c->nx + j] != c->y[b * c->nx + j] ||
            c->fits[a * c->nx + j] != c->fits[b * c->nx + j])
            return false;
    return true;
}

/* Groups identical curves: group[i] = index of the first design with design
 * i's curve; returns the number of groups; first[g] = that design. */
static int group_curves(const struct curves *c, int *group, int *first)
{
    int ng = 0;
    for (int i = 0; i < c->n; i++) {
        group[i] = -1;
        for (int g = 0; g < ng && group[i] < 0; g++)
            if (same_curve(c, first[g], i)) group[i] = g;
        if (group[i] < 0) first[ng] = i, group[i] = ng++;
    }
    return ng;
}

/* Legend of group g: the first design with the curve's sample, the others
 * with the same values on their own lines below it ("= name"). */
/* The key names at most KEY_MAX designs (a study may hold 64); *room counts
 * down the lines left, *hidden counts the designs left out (named in
 * compare.csv and report.md), said on the key's last line. */
#define KEY_MAX 28
static void group_key(FILE *f, const struct curves *c, const int *group, int g, int dt,
                      int pt, const char *col, int *room, int *hidden)
{
    bool first = true;
    for (int i = 0; i < c->n; i++) {
        if (group[i] != g) continue;
        if (*room <= 0) {
            ++*hidden;
            first = false;
            continue;
        }
        --*room;
        if (first) {
            fprintf(f, "  keyentry with linespoints lw 2 dt %d pt %d ps 1.3 lc rgb '%s' title ",
                    dt, pt, col);
            plot_gp_str(f, c->names[i]);
        } else {
            char buf[128];
            snprintf(buf, sizeof buf, "= %s", c->names[i]);
            fprintf(f, "  keyentry title ");
            plot_gp_str(f, buf);
        }
        fprintf(f, ", \\\n");
        first = false;
    }
}

static int open_in(struct plot_out *o, const char *dir, const char *base, const char *ext,
                   struct err *e)
{
    char name[PLOT_PATH_MAX], path[PLOT_PATH_MAX];
    snprintf(name, sizeof name, "%s.%s", base, ext);
    if (plot_path(path, sizeof path, dir, name)) return err_set(e, dir, 0, 0, "path too long");
    return plot_out_open(o, path, e);
}

static void gp_head(FILE *f, const char *base, const char *cmd_line, int w, int h)
{
    fprintf(f, "# %s.gp - made by: %s\n# Restyle and redraw from this folder: gnuplot %s.gp\n",
            base, cmd_line, base);
    fprintf(f, "if (!exists(\"png_file\")) png_file = '%s.png'\n", base);
    fprintf(f, "if (!exists(\"svg_file\")) svg_file = '%s.svg'\n", base);
    fprintf(f, "DATA = '%s.dat'\n\n", base);
    fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'sans,12'\nset output png_file\n",
            w, h);
}

static void gp_tail(FILE *f, int w, int h)
{
    fprintf(f, "\nset terminal svg size %d,%d dynamic noenhanced font 'sans,12' background "
               "rgb 'white'\nset output svg_file\nreplot\nset output\n",
            w, h);
}

static void gp_title(FILE *f, const char *title, const char *subtitle)
{
    fprintf(f, "set title ");
    plot_gp_str(f, title);
    if (subtitle && *subtitle) {
        fprintf(f, " . \"\\n\" . ");
        plot_gp_str(f, subtitle);
    }
    fprintf(f, " font 'sans,13'\n");
}

int chart_curves_write(const struct curves *c, const char *dir, const char *base, struct err *e)
{
    OB_ASSERT(c->n >= 1 && c->nx >= 1 && c->nx <= CURVES_MAX_X);
    int *group = calloc((size_t)c->n * 2, sizeof *group);
    if (!group) return err_set(e, dir, 0, 0, "out of memory");
    int *first = group + c->n;
    const int ng = group_curves(c, group, first);
    char nb[2][64];
    struct plot_out o;
    int rc = open_in(&o, dir, base, "dat", e);
    if (rc == 0) {
        FILE *f = o.f;
        fprintf(f, "# %s.dat - made by: %s\n# %s\n# one block per curve (gnuplot index); "
                   "designs with identical curves share one; columns: x y fits (1 = fits in "
                   "device memory)\n# x = %s, y = %s\n",
                base, c->cmd_line, c->title, c->xlabel, c->ylabel);
        for (int g = 0; g < ng; g++) {
            fprintf(f, "%s# block %d:", g ? "\n\n" : "", g);
            for (int i = 0; i < c->n; i++)
                if (group[i] == g) fprintf(f, " \"%s\"", c->names[i]);
            fputc('\n', f);
            for (int j = 0; j < c->nx; j++) {
                const int i = first[g] * c->nx + j;
                fprintf(f, "%s %s %d\n", fmt_exact(nb[0], 64, c->x[j]),
                        fmt_exact(nb[1], 64, c->y[i]), c->fits[i] ? 1 : 0);
            }
        }
        rc = plot_out_commit(&o, e);
    }
    if (rc == 0) rc = open_in(&o, dir, base, "gp", e);
    if (rc == 0) {
        FILE *f = o.f;
        const int W = 1400, H = 850;
        gp_head(f, base, c->cmd_line, W, H);
        fprintf(f, "set logscale x 2\nset logscale y 10\nset grid xtics ytics lc rgb '#dddddd' "
                   "lt 1\n");
        fprintf(f, "set xlabel ");
        plot_gp_str(f, c->xlabel);
        fprintf(f, "\nset ylabel ");
        plot_gp_str(f, c->ylabel);
        fputc('\n', f);
        plot_gp_yformat(f, c->yunit);
        if (c->nx <= 16) {
            fprintf(f, "set xtics (");
            for (int j = 0; j < c->nx; j++) {
                count_label(nb[0], 64, c->x[j]);
                fprintf(f, "%s'%s' %.17g", j ? ", " : "", nb[0], c->x[j]);
            }
            fprintf(f, ")\n");
        }
        fprintf(f, "set offsets graph 0.02, graph 0.02, 0, 0\n");
        gp_title(f, c->title, c->subtitle);
        fprintf(f, "set rmargin at screen 0.70\n");
        fprintf(f, "set key at screen 0.715, graph 1 left top Left reverse samplen 3 "
                   "spacing 1.1 font 'sans,11'\n");
        if (c->capacity > 0)
            fprintf(f, "CAPACITY = %.17g  # device memory, bytes\n"
                       "set arrow from graph 0, first CAPACITY to graph 1, first CAPACITY "
                       "nohead dt 2 lw 1.5 lc rgb '#555555'\n"
                       "set label 'device memory %s' at graph 0.01, first CAPACITY offset 0,0.7 "
                       "left tc rgb '#555555'\n",
                    c->capacity, fmt_bin(nb[0], 64, c->capacity));
        fprintf(f, "# one curve per group of designs with identical values; open points do not "
                   "fit in device memory\nplot \\\n");
        int room = c->n > KEY_MAX ? KEY_MAX - 1 : KEY_MAX, hidden = 0;
        for (int g = 0; g < ng; g++) {
            const char *col = curve_color(g);
            const int sh = curve_shape(g), dt = curve_dash(g);
            group_key(f, c, group, g, dt, PT_FILLED[sh], col, &room, &hidden);
            fprintf(f, "  DATA index %d using 1:2 with lines lw 2 dt %d lc rgb '%s' "
                       "notitle, \\\n", g, dt, col);
            fprintf(f, "  DATA index %d using 1:($3 > 0 ? $2 : NaN) with points pt %d ps 1.3 "
                       "lc rgb '%s' notitle, \\\n", g, PT_FILLED[sh], col);
            fprintf(f, "  DATA index %d using 1:($3 > 0 ? NaN : $2) with points pt %d ps 1.3 "
                       "lw 1.5 lc rgb '%s' notitle, \\\n", g, PT_OPEN[sh], col);
        }
        if (hidden)
            fprintf(f, "  keyentry title '... and %d more (see compare.csv)', "
                       "\\\n", hidden);
        fprintf(f, "  keyentry title ' ', keyentry with points pt 6 lc rgb '#333333' "
                   "title 'open point: does not fit'\n");
        gp_tail(f, W, H);
        rc = plot_out_commit(&o, e);
    }
    free(group);
    return rc;
}

static const struct {
    const char *id, *name, *color;
} BD_PARTS[BD_COUNT] = {
    [BD_ATTN_PROJ] = {"attn_proj_s", "attention projections (GEMM)", "#56B4E9"},
    [BD_ATTN_CORE] = {"attn_core_s", "attention core (and mixer scans)", "#0072B2"},
    [BD_ATTN_OTHER] = {"attn_other_s", "attention: norm, RoPE, residual", "#A6CEE3"},
    [BD_FFN_GEMM] = {"ffn_gemm_s", "FFN GEMMs", "#E69F00"},
    [BD_FFN_OTHER] = {"ffn_other_s", "FFN: activation, norm, residual", "#F6D58E"},
    [BD_MODEL] = {"model_s", "embedding, final norm, LM head", "#999999"},
    [BD_ALLREDUCE] = {"allreduce_s", "collectives (all-reduce, all-to-all)", "#CC79A7"},
};

const char *breakdown_part_name(enum bd_part p) { return BD_PARTS[p].name; }
const char *breakdown_part_id(enum bd_part p) { return BD_PARTS[p].id; }

/* The op's part: its kind's class (graph.h) within its block. */
static enum bd_part breakdown_part(const struct op *op)
{
    bool gemm = false;
    switch (op_kind_class(op->kind)) {
    case OPC_CORE: return BD_ATTN_CORE; /* attention, or a linear mixer's recurrent core */
    case OPC_COLLECTIVE: return BD_ALLREDUCE;
    case OPC_MATMUL: gemm = true; break;
    case OPC_VECTOR:
    case OPC_COUNT: break;
    }
    switch (op->block) {
    case BLK_ATTN: return gemm ? BD_ATTN_PROJ : BD_ATTN_OTHER;
    case BLK_FFN: return gemm ? BD_FFN_GEMM : BD_FFN_OTHER;
    case BLK_MODEL:
    case BLK_COUNT: break;
    }
    return BD_MODEL;
}

void breakdown_sum(const struct analysis *a, double t[BD_COUNT])
{
    for (int p = 0; p < BD_COUNT; p++) t[p] = 0;
    for (int i = 0; i < a->graph.n; i++)
        t[breakdown_part(&a->graph.ops[i])] += a->per_op[i].time_s * a->graph.ops[i].layer_count;
}

/* A data-file string: double quotes inside become single ones. */
static void dat_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
    fputc('"', f);
}

int chart_breakdown_write(const struct breakdown *b, const char *dir, const char *base,
                          struct err *e)
{
    char nb[64];
    bool used[BD_COUNT] = {false};
    double top = 0;
    for (int i = 0; i < b->n; i++) {
        double sum = 0;
        for (int p = 0; p < BD_COUNT; p++) {
            used[p] |= b->t[i][p] > 0;
            sum += b->t[i][p];
        }
        top = fmax(top, sum);
    }
    struct plot_out o;
    int rc = open_in(&o, dir, base, "dat", e);
    if (rc == 0) {
        FILE *f = o.f;
        fprintf(f, "# %s.dat - made by: %s\n# %s\n# seconds per step, summed over every layer; "
                   "one row per design, one column per part, then the total\n",
                base, b->cmd_line, b->title);
        fprintf(f, "design");
        for (int p = 0; p < BD_COUNT; p++) fputc(' ', f), dat_str(f, BD_PARTS[p].name);
        fprintf(f, " total\n");
        for (int i = 0; i < b->n; i++) {
            double sum = 0;
            dat_str(f, b->names[i]);
            for (int p = 0; p < BD_COUNT; p++) {
                fprintf(f, " %s", fmt_exact(nb, sizeof nb, b->t[i][p]));
                sum += b->t[i][p];
            }
            fprintf(f, " %s\n", fmt_exact(nb, sizeof nb, sum));
        }
        rc = plot_out_commit(&o, e);
    }
    if (rc == 0) rc = open_in(&o, dir, base, "gp", e);
    if (rc == 0) {
        FILE *f = o.f;
        const int W = 1400, H = 850;
        gp_head(f, base, b->cmd_line, W, H);
        gp_title(f, b->title, b->subtitle);
        fprintf(f, "set style data histograms\nset style histogram rowstacked\n"
                   "set style fill solid 0.9 border rgb '#444444'\nset boxwidth 0.7\n");
        fprintf(f, "set grid ytics lc rgb '#dddddd' lt 1\nset ylabel ");
        plot_gp_str(f, b->ylabel);
        fprintf(f, "\nset format y '%%.0s %%cs'\nset yrange [0:%.17g]\n", top > 0 ? top * 1.12 : 1);
        fprintf(f, "set xtics rotate by 30 right nomirror font 'sans,11'\nset ytics nomirror\n");
        fprintf(f, "set rmargin at screen 0.74\nset bmargin 9\n");
        fprintf(f, "set key at screen 0.755, graph 1 left top Left reverse samplen 2 "
                   "spacing 1.2 invert\n");
        fprintf(f, "# the total above each bar (bars stand at x = 0, 1, ...)\n");
        for (int i = 0; i < b->n; i++) {
            double sum = 0;
            for (int p = 0; p < BD_COUNT; p++) sum += b->t[i][p];
            const bool no_fit = b->fits && !b->fits[i];
            fprintf(f, "set label %d \"%s%s\" at %d, %.17g center offset 0,%s font 'sans,10'%s\n",
                    i + 1, fmt_time(nb, sizeof nb, sum), no_fit ? "\\nDOES NOT FIT" : "", i, sum,
                    no_fit ? "1.4" : "0.7", no_fit ? " tc rgb '#B2182B'" : "");
        }
        bool any_no_fit = false;
        for (int i = 0; b->fits && i < b->n; i++) any_no_fit |= !b->fits[i];
        if (any_no_fit)
            fprintf(f, "set label %d 'DOES NOT FIT: the memory footprint exceeds the device; "
                       "the time is what the step would take' at screen 0.02, screen 0.03 left "
                       "tc rgb '#B2182B' font 'sans,10'\n",
                    b->n + 1);
        fprintf(f, "TOTAL = %d  # column of the total\nplot \\\n", BD_COUNT + 2);
        bool any = false;
        for (int p = 0; p < BD_COUNT; p++) {
            if (!used[p]) continue;
            fprintf(f, "  %s using %d%s title columnheader(%d) lc rgb '%s', \\\n",
                    any ? "''" : "DATA", p + 2, any ? "" : ":xtic(1)", p + 2, BD_PARTS[p].color);
            any = true;
        }
        if (!any) fprintf(f, "  DATA using TOTAL:xtic(1) notitle, \\\n");
        fprintf(f, "  NaN notitle\n");
        gp_tail(f, W, H);
        rc = plot_out_commit(&o, e);
    }
    return rc;
}
