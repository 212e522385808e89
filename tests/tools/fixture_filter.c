/* fixture_filter - cut one session out of a recorded flight log, for the
 * session builder's unit-test fixtures: fixture_filter DIR SES OUT.frl
 * keeps the events whose audit session id is SES (and every `lost` record),
 * in order, and writes them as one segment. The fixtures are real
 * recordings; this only drops the rest of the machine's activity. */
#include "flightlog/flightlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fixture_filter DIR SES OUT.frl\n");
		return 2;
	}
	uint32_t ses = (uint32_t)strtoul(argv[2], NULL, 10);
	struct fl_store *st;
	struct fl_writer *w;
	if (fl_store_open(argv[1], &st) || fl_writer_new(NULL, &w)) {
		fprintf(stderr, "fixture_filter: cannot open %s\n", argv[1]);
		return 1;
	}
	size_t n;
	const struct fl_store_entry *ents = fl_store_entries(st, &n);
	for (size_t i = 0; i < n; i++) {
		void *buf;
		size_t len;
		struct fl_segment *seg;
		if (fl_store_read(st, ents[i].seq, &buf, &len) || fl_segment_open(buf, len, &seg, NULL)) {
			fprintf(stderr, "fixture_filter: bad segment %s\n", ents[i].name);
			return 1;
		}
		free(buf);
		struct fr_event ev;
		while (fl_segment_next(seg, &ev) == 1)
			if (ev.ses == ses || ev.kind == FR_EV_LOST)
				fl_writer_add(w, &ev);
		fl_segment_free(seg);
	}
	void *out;
	size_t len;
	if (fl_writer_finish(w, NULL, 1, &out, &len)) {
		fprintf(stderr, "fixture_filter: cannot encode\n");
		return 1;
	}
	FILE *f = fopen(argv[3], "wb");
	if (!f || fwrite(out, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "fixture_filter: cannot write %s\n", argv[3]);
		return 1;
	}
	free(out);
	fl_writer_free(w);
	fl_store_close(st);
	return 0;
}
