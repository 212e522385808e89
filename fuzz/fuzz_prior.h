/* fuzz_prior.h - the prior the fuzzer and the corpus replay give the
 * reader (FORMAT.md 10).
 *
 * Why: a segment written against a prior decodes only with that prior; a
 * fuzzer without it would stop every such input at the header. The seeds
 * with the PRIOR flag (seed-*-prior*.frl) are written against this one,
 * so its bytes must never change: a new prior gets a new name. */
#ifndef FLIGHTREC_FUZZ_PRIOR_H
#define FLIGHTREC_FUZZ_PRIOR_H

#include "flightlog/flightlog.h"

static const char fuzz_prior_content[] =
	"\0vm\0bash\0sshd\0cron\0systemd\0systemd-journal\0kworker/0:1-events\0cc1\0as\0ld\0make\0"
	"/usr/bin/bash\0/usr/sbin/sshd\0/etc/ld.so.cache\0/usr/lib/x86_64-linux-gnu/libc.so.6\0"
	"/usr/lib/locale/locale-archive\0/etc/passwd\0/etc/nsswitch.conf\0/usr/include/stdio.h\0"
	"/usr/include/x86_64-linux-gnu/bits/types.h\0/tmp/build/obj/main.o\0/var/log/syslog\0"
	"make\0-j2\0gcc\0-O2\0-c\0-o\0main.o\0main.c\0/usr/sbin/nginx\0-g\0daemon off;\0";

/* The prior of fuzz_prior_content (all of it but the final NUL); NULL on
 * ENOMEM. The caller frees it (fl_prior_free). */
static inline struct fl_prior *fuzz_prior_new(void)
{
	struct fl_prior *p = NULL;
	fl_prior_new(fuzz_prior_content, sizeof(fuzz_prior_content) - 1, 1, 0, &p);
	return p;
}

#endif
