/* fuzz.h - what the harnesses of tests/fuzz/ share: a check that stops the run.
 *
 * A broken promise is as much a finding as a crash, so it ends the run the same way: abort()
 * makes libFuzzer save the input under the crash folder (docs/fuzzing.md). */
#ifndef SR_TESTS_FUZZ_H
#define SR_TESTS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
