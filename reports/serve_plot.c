/* serve_plot.c - the time-series csv and chart of `opbound serve
 * --timeseries`; see serve_plot.h. */
#include "serve_plot.h"

#include <string.h>

#include "plot.h"

/* One csv row per replica and window: means over the window of the waiting
 * queue, the running batch and the KV cache held (bytes per device and share
 * of the KV limit), and the output tokens of the iterations that ended in it
 * per second of window. */
static void write_csv(FILE *f, const struct serve_result *const *r, const char *const *labels,
                      int n)
{
    fprintf(f, "replica,label,t_start_s,window_s,queue_mean,running_mean,kv_mean_bytes,"
               "kv_occupancy,output_tokens_per_s\n");
    for (int i = 0; i < n; i++) {
        const struct serve_series *ts = &r[i]->series;
        for (size_t k = 0; k < ts->n; k++) {
            const double w = ts->width_s, kv = ts->kv[k] / w;
            fprintf(f, "%d,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", i, labels[i],
                    (double)k * w, w, ts->queue[k] / w, ts->running[k] / w, kv,
                    r[i]->kv_limit_bytes > 0 ? kv / r[i]->kv_limit_bytes : 0, ts->tokens[k] / w);
        }
    }
}

int serve_plot_write(const struct serve_result *const *r, const char *const *labels, int n,
                     const char *title, const char *dir, const char *base, struct err *e)
{
    char path[PLOT_PATH_MAX], name[PLOT_PATH_MAX];
    struct plot_out csv = {0}, gp = {0};
    snprintf(name, sizeof name, "%s.csv", base);
    if (plot_path(path, sizeof path, dir, name)) return err_set(e, dir, 0, 0, "path too long");
    if (plot_out_open(&csv, path, e)) goto fail;
    write_csv(csv.f, r, labels, n);
    if (plot_out_commit(&csv, e)) goto fail;
    snprintf(name, sizeof name, "%s.gp", base);
    if (plot_path(path, sizeof path, dir, name)) {
        err_set(e, dir, 0, 0, "path too long");
        goto fail;
    }
    if (plot_out_open(&gp, path, e)) goto fail;
    FILE *f = gp.f;
    char b[PLOT_PATH_MAX + 8];
    fprintf(f, "# %s.gp - serve time series per replica (opbound serve --timeseries)\n", base);
    fprintf(f, "# Redraw from this folder: gnuplot %s.gp\n", base);
    snprintf(b, sizeof b, "%s.png", base);
    fprintf(f, "if (!exists(\"png_file\")) png_file = ");
    plot_gp_str(f, b);
    snprintf(b, sizeof b, "%s.svg", base);
    fprintf(f, "\nif (!exists(\"svg_file\")) svg_file = ");
    plot_gp_str(f, b);
    snprintf(b, sizeof b, "%s.csv", base);
    fprintf(f, "\nDATA = ");
    plot_gp_str(f, b);
    fprintf(f, "\nN = %d\narray COLOR[%d] = [", n, n);
    for (int i = 0; i < n; i++) fprintf(f, "%s'%s'", i ? ", " : "", PLOT_COLORS[i % PLOT_NCOLORS]);
    fprintf(f, "]\narray LABEL[%d] = [", n);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        plot_gp_str(f, labels[i]);
    }
    fprintf(f, "]\nset datafile separator ','\nset grid xtics ytics lc rgb '#dddddd' lt 1\n"
               "set key outside right top noenhanced\nset format x '%%.0s %%cs'\n"
               "set lmargin at screen 0.1\nset rmargin at screen 0.66\nset autoscale xfixmax\n"
               "TITLE = ");
    plot_gp_str(f, title);
    /* column 1: replica index; 3: window start; 5: queue; 6: running; 8: KV share;
     * 9: tokens/s. Rows of replica i are picked by a ternary (NaN elsewhere). */
    fprintf(f,
            "\nPLOT = \"set multiplot layout 3,1 title TITLE noenhanced; "
            "set ylabel 'requests'; set xlabel ''; "
            "plot for [i=0:N-1] DATA using 3:($1==i ? $5 : NaN) skip 1 with steps lc rgb "
            "COLOR[i+1] lw 1.5 title LABEL[i+1].' waiting', "
            "for [i=0:N-1] DATA using 3:($1==i ? $6 : NaN) skip 1 with steps lc rgb COLOR[i+1] "
            "dt 2 title LABEL[i+1].' running'; "
            "set ylabel 'KV cache held'; set format y '%%.0f%%%%'; "
            "plot for [i=0:N-1] DATA using 3:($1==i ? 100*$8 : NaN) skip 1 with steps lc rgb "
            "COLOR[i+1] lw 1.5 title LABEL[i+1]; set format y '%%g'; "
            "set ylabel 'output tokens/s'; set xlabel 'time (window start)'; "
            "set format y '%%.0f'; "
            "plot for [i=0:N-1] DATA using 3:($1==i ? $9 : NaN) skip 1 with steps lc rgb "
            "COLOR[i+1] lw 1.5 title LABEL[i+1]; set format y '%%g'; unset multiplot\"\n"
            "set terminal pngcairo size 1000,900 noenhanced font 'sans,10'\n"
            "set output png_file\n@PLOT\nset terminal svg size 1000,900 noenhanced "
            "font 'sans,10'\nset output svg_file\n@PLOT\nset output\n");
    if (plot_out_commit(&gp, e)) goto fail;
    return 0;
fail:
    plot_out_discard(&csv);
    plot_out_discard(&gp);
    return -1;
}
