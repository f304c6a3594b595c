# residuals-h100.gp - predicted vs measured kernel time (opbound validate)
# Redraw from this folder: gnuplot residuals-h100.gp
if (!exists("png_file")) png_file = 'residuals-h100.png'
if (!exists("svg_file")) svg_file = 'residuals-h100.svg'
DATA = 'residuals-h100.dat'
NCLASS = 9
array COLOR[9] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#8C564B', '#000000', '#0072B2']
set logscale xy 10
set format x '%.0s %cs'
set format y '%.0s %cs'
set xlabel 'measured time'
set ylabel 'predicted time'
set grid xtics ytics lc rgb '#dddddd' lt 1
set key top left noenhanced
set size ratio -1
set title 'h100-library-2026-11-22.csv on H100-SXM5-80GB' noenhanced
PLOT = "plot for [i=0:NCLASS-1] DATA index i using 1:2 with points pt 7 ps 0.8 lc rgb COLOR[i+1] title columnheader(1), x with lines lc rgb 'black' title 'predicted = measured', 1.1*x with lines dt 2 lc rgb 'gray' title '+-10%', 0.9*x with lines dt 2 lc rgb 'gray' notitle"
set terminal pngcairo size 900,800 noenhanced font 'sans,11'
set output png_file
@PLOT
set terminal svg size 900,800 noenhanced font 'sans,11'
set output svg_file
@PLOT
set output
