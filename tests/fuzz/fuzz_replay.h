/*
 * fuzz_replay.h: the main of every fuzz target built as a plain program
 * (-DFUZZ_STANDALONE): each file named on the command line, up to max bytes
 * of it, goes through LLVMFuzzerTestOneInput once. Included after the
 * target's LLVMFuzzerTestOneInput; libFuzzer builds never see it.
 */
#ifndef UCGW_FUZZ_REPLAY_H
#define UCGW_FUZZ_REPLAY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Replay the files argv[1..]; 1 when one cannot be opened. */
static int
fuzz_replay(int argc, char **argv, size_t max)
{
	uint8_t *buf = malloc(max);
	FILE *f;
	size_t n;

	if (buf == NULL)
		abort();
	for (int i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			free(buf);
			return 1;
		}
		n = fread(buf, 1, max, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
	return 0;
}

#endif
