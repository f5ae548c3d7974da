# src/sim/sim.mk: ucwa-sim, the UCWA 2.0 server simulator (included by Makefile.am).
# A test tool: built always, installed only with --enable-sim-install.
if SIM_INSTALL
bin_PROGRAMS += ucwa-sim
else
noinst_PROGRAMS += ucwa-sim
endif
ucwa_sim_SOURCES = src/sim/sim_main.c src/sim/sim.h src/sim/sim_map.c src/sim/sim_auth.c \
	src/sim/sim_app.c src/sim/sim_events.c src/sim/sim_conv.c src/sim/sim_remote.c \
	src/sim/sim_ctl.c src/sim/sim_fault.c src/sim/sim_profile.c

if HAVE_NODE
TESTS += \
	tests/e2e/sim_protocol.test.js \
	tests/e2e/sim_faults.test.js \
	tests/e2e/sim_ctl.test.js
endif

EXTRA_DIST += tests/bench

# User-to-user conversations (sim_bridge.c).
ucwa_sim_SOURCES += src/sim/sim_bridge.c
if HAVE_NODE
TESTS += tests/e2e/sim_bridge.test.js
endif
