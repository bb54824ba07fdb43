# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench-plot.gp - the plot of `make bench`: pooled/stock speedup per figure of the
# deterministic guests (Hodges-Lehmann estimate, 95% confidence interval bar) with its target.
# Usage: gnuplot -e "dat='plot.dat'; out='bench.png'; title='...'" bench-plot.gp
set terminal pngcairo size 1200,720 font ",10"
set output out
set title title
set ylabel "speedup = pooled / stock performance (>1: pooled faster), log scale"
set logscale y 2
set yrange [0.125:8]
set grid ytics
set xtics rotate by -35 left noenhanced
set xrange [-0.7:*]
set bmargin 11
set rmargin 14
set key top right
set boxwidth 0.6
set style fill solid 0.5 border -1
plot 1 with lines lt 0 lw 2 notitle, \
     dat using 0:2:xtic(1) with boxes lc rgb "#4477aa" title "speedup (Hodges-Lehmann)", \
     dat using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 title "95% confidence interval", \
     dat using 0:5 with points pt 9 ps 1.6 lc rgb "#cc3311" title "target (at least)"
