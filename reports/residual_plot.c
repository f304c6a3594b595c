/* residual_plot.c - the residual chart of `opbound validate`; see
 * residual_plot.h. */
#include "residual_plot.h"

#include <stdlib.h>
#include <string.h>

#include "plot.h"

int residual_plot_write(const struct meas_file *m, const double *pred, const char *title,
                        const char *dir, const char *base, struct err *e)
{
    char path[PLOT_PATH_MAX], name[PLOT_PATH_MAX];
    struct plot_out dat = {0}, gp = {0};
    /* classes in file order */
    const char **cls = calloc((size_t)m->n + 1, sizeof *cls);
    OB_ASSERT(cls);
    int nc = 0;
    for (int i = 0; i < m->n; i++) {
        if (!(pred[i] > 0) || !m->rows[i].timed) continue;
        int c = 0;
        while (c < nc && strcmp(cls[c], m->rows[i].cls) != 0) c++;
        if (c == nc) cls[nc++] = m->rows[i].cls;
    }
    snprintf(name, sizeof name, "%s.dat", base);
    if (plot_path(path, sizeof path, dir, name) ||
        (snprintf(name, sizeof name, "%s.gp", base), 0)) {
        free(cls);
        return err_set(e, dir, 0, 0, "path too long");
    }
    if (plot_out_open(&dat, path, e)) goto fail;
    fprintf(dat.f, "# predicted vs measured time per row, one block per class (gnuplot index)\n");
    for (int c = 0; c < nc; c++) {
        fprintf(dat.f, "%s\"%s\" \"%s\"\n", c ? "\n\n" : "", cls[c], cls[c]);
        for (int i = 0; i < m->n; i++)
            if (pred[i] > 0 && m->rows[i].timed && strcmp(m->rows[i].cls, cls[c]) == 0)
                fprintf(dat.f, "%.9g %.9g\n", m->rows[i].median_s, pred[i]);
    }
    if (plot_out_commit(&dat, e)) goto fail;
    if (plot_path(path, sizeof path, dir, name)) {
        err_set(e, dir, 0, 0, "path too long");
        goto fail;
    }
    if (plot_out_open(&gp, path, e)) goto fail;
    FILE *f = gp.f;
    char b[PLOT_PATH_MAX + 8];
    fprintf(f, "# %s.gp - predicted vs measured kernel time (opbound validate)\n", base);
    fprintf(f, "# Redraw from this folder: gnuplot %s.gp\n", base);
    snprintf(b, sizeof b, "%s.png", base);
    fprintf(f, "if (!exists(\"png_file\")) png_file = ");
    plot_gp_str(f, b);
    snprintf(b, sizeof b, "%s.svg", base);
    fprintf(f, "\nif (!exists(\"svg_file\")) svg_file = ");
    plot_gp_str(f, b);
    snprintf(b, sizeof b, "%s.dat", base);
    fprintf(f, "\nDATA = ");
    plot_gp_str(f, b);
    fprintf(f, "\nNCLASS = %d\narray COLOR[%d] = [", nc, nc > 0 ? nc : 1);
    for (int c = 0; c < (nc > 0 ? nc : 1); c++)
        fprintf(f, "%s'%s'", c ? ", " : "", PLOT_COLORS[c % PLOT_NCOLORS]);
    fprintf(f, "]\nset logscale xy 10\nset format x '%%.0s %%cs'\nset format y '%%.0s %%cs'\n"
               "set xlabel 'measured time'\nset ylabel 'predicted time'\n"
               "set grid xtics ytics lc rgb '#dddddd' lt 1\nset key top left noenhanced\n"
               "set size ratio -1\nset title ");
    plot_gp_str(f, title);
    fprintf(f, " noenhanced\n"
               "PLOT = \"plot for [i=0:NCLASS-1] DATA index i using 1:2 with points pt 7 ps 0.8 "
               "lc rgb COLOR[i+1] title columnheader(1), x with lines lc rgb 'black' title "
               "'predicted = measured', 1.1*x with lines dt 2 lc rgb 'gray' title '+-10%%', "
               "0.9*x with lines dt 2 lc rgb 'gray' notitle\"\n"
               "set terminal pngcairo size 900,800 noenhanced font 'sans,11'\n"
               "set output png_file\n@PLOT\nset terminal svg size 900,800 noenhanced "
               "font 'sans,11'\nset output svg_file\n@PLOT\nset output\n");
    if (plot_out_commit(&gp, e)) goto fail;
    free(cls);
    return 0;
fail:
    plot_out_discard(&dat);
    plot_out_discard(&gp);
    free(cls);
    return -1;
}
