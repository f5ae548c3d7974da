# src/sim/sim.mk: ucwa-sim, the UCWA 2.0 server simulator (included by Makefile.am).
bin_PROGRAMS += ucwa-sim
ucwa_sim_SOURCES = src/sim/sim_main.c
