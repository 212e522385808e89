/* test_session - the session builder on a recorded real login.
 *
 * The fixture tests/fixtures/session-ssh.frl is one audit session cut from a
 * real recording (tests/fixtures/make-session-fixture.py): fralice logged in
 * through sshd and typed the lines below. */
#include "event/event.h"
#include "flightlog/flightlog.h"
#include "session/session.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures"
#endif

static const char *const lines[] = {
	"cd /tmp/frfixture-sess", "touch a.txt", "ls", "echo hi > b.txt", "cat b.txt | wc -c > c.txt",
	"sudo -i", "sleep 100 &", "kill %1", "rm a.txt", "exit",
};

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc((size_t)n);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Each needle appears in order after the previous one. */
static int in_order(const char *hay, const char *const *needles, int n)
{
	const char *p = hay;
	for (int i = 0; i < n; i++) {
		const char *q = strstr(p, needles[i]);
		if (!q) {
			printf("#   missing, in order: %s\n", needles[i]);
			return 0;
		}
		p = q + strlen(needles[i]);
	}
	return 1;
}

/* A copy of a tree's JSON with every RFC 3339 time replaced by "T". */
static char *blank_times(const char *json)
{
	if (!json)
		return NULL;
	char *out = malloc(strlen(json) + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = json; *p;) {
		/* "2026-11-22T08:43:36.663000000Z" */
		if (p[0] == '"' && strlen(p) >= 32 && p[5] == '-' && p[11] == 'T' && p[30] == 'Z' && p[31] == '"') {
			memcpy(o, "\"T\"", 3);
			o += 3;
			p += 32;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

int main(void)
{
	size_t len;
	void *buf = slurp(FIXTURE_DIR "/session-ssh.frl", &len);
	ok(buf != NULL, "fixture read");
	if (!buf)
		return tap_done();
	struct fl_segment *seg;
	ok(fl_segment_open(buf, len, &seg, NULL) == 0, "fixture is a valid segment");
	free(buf);
	struct fr_session_builder *sb;
	ok(fr_session_builder_new(&sb) == 0, "builder");
	struct fr_event ev;
	int r, n = 0;
	while ((r = fl_segment_next(seg, &ev)) == 1) {
		if (fr_session_builder_add(sb, &ev) < 0)
			break;
		n++;
	}
	ok(r == 0 && n > 100, "fed %d recorded events", n);
	is_int(fr_session_count(sb), 1, "one session");
	const struct fr_session *s = fr_session_at(sb, 0);
	struct fr_session_summary sum;
	fr_session_summarize(s, &sum);
	ok(sum.interactive && sum.complete && sum.end_ns > sum.start_ns && sum.ses != FR_ID_UNSET &&
		   sum.auid != FR_ID_UNSET && (sum.tty >> 20) >= 136,
	   "interactive, complete, ended, with ses, auid and a pts");
	is_int(sum.commands, 10, "ten lines typed in the login shell");
	is_int(sum.commands_with_effects, 7, "seven of them changed state (touch, echo, pipeline, sudo, kill, rm, exit)");
	ok(fr_session_find(sb, sum.id) == s, "found by id");

	struct fr_buf all = {0}, some = {0}, text = {0};
	ok(fr_session_tree_json(s, true, &all) == 0, "tree as JSON (--all)");
	ok(fr_session_tree_json(s, false, &some) == 0, "tree as JSON");
	ok(fr_session_tree_text(s, true, true, &text) == 0, "tree as text");
	char want[256];
	const char *seq[20];
	int k = 0;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *w = malloc(128);
		snprintf(w, 128, "{\"line\":\"%s\"", lines[i]);
		seq[k++] = w;
	}
	ok(in_order(all.data, seq, k), "every line is a command, in order");
	for (int i = 0; i < k; i++)
		free((void *)seq[i]);

	const char *touch[] = {"{\"line\":\"touch a.txt\"", "\"side_effects\":true", "\"argv\":[\"touch\",\"a.txt\"]",
			       "\"event\":\"create\"", "\"path\":\"/tmp/frfixture-sess/a.txt\""};
	ok(in_order(all.data, touch, 5), "touch: its child process and the create");
	const char *ls[] = {"{\"line\":\"ls\"", "\"side_effects\":false", "\"argv\":[\"ls\"", "{\"line\":\"echo hi > b.txt\""};
	ok(in_order(all.data, ls, 4), "ls: kept, without side effects");
	ok(!strstr(some.data, "{\"line\":\"ls\""), "ls is hidden without --all");
	const char *echo[] = {"{\"line\":\"echo hi > b.txt\"", "\"effects\":[{", "\"event\":\"create\"",
			      "\"path\":\"/tmp/frfixture-sess/b.txt\"", "\"children\":[]"};
	ok(in_order(all.data, echo, 5), "builtin redirect: the shell's own create, no child");
	const char *pipe[] = {"{\"line\":\"cat b.txt | wc -c > c.txt\"", "\"argv\":[\"cat\",\"b.txt\"]",
			      "\"argv\":[\"wc\",\"-c\"]", "\"path\":\"/tmp/frfixture-sess/c.txt\""};
	ok(in_order(all.data, pipe, 4), "pipeline: cat and wc, and wc's create");
	snprintf(want, sizeof(want), "\"uid\":0");
	const char *sudo[] = {"{\"line\":\"sudo -i\"", "\"argv\":[\"sudo\",\"-i\"]", "{\"line\":\"touch /tmp/frfixture-sess/root.txt\"",
			      "\"argv\":[\"touch\",\"/tmp/frfixture-sess/root.txt\"]", want, "\"path\":\"/tmp/frfixture-sess/root.txt\"",
			      "{\"line\":\"exit\"", "{\"line\":\"sleep 100 &\""};
	ok(in_order(all.data, sudo, 8), "sudo -i: a nested root shell with its own lines and effects");
	snprintf(want, sizeof(want), "\"auid\":%u", sum.auid);
	const char *root[] = {"\"path\":\"/tmp/frfixture-sess/root.txt\""};
	const char *rt = strstr(all.data, root[0]);
	const char *obj = rt;
	while (obj && obj > all.data && *obj != '{')
		obj--;
	ok(rt && obj && strstr(obj, want) && strstr(obj, want) < rt && strstr(obj, "\"uid\":0,"),
	   "root's create keeps the person's auid");
	const char *kill[] = {"{\"line\":\"sleep 100 &\"", "\"argv\":[\"sleep\",\"100\"]", "\"exit_signal\":15",
			      "{\"line\":\"kill %1\"", "\"event\":\"kill\"", "\"target_comm\":\"sleep\"", "\"signal\":15",
			      "\"target_died\":true"};
	ok(in_order(all.data, kill, 8), "background job killed by kill %%1: target named, and it died");
	const char *rm[] = {"{\"line\":\"rm a.txt\"", "\"argv\":[\"rm\",\"a.txt\"]", "\"event\":\"delete\"",
			    "\"path\":\"/tmp/frfixture-sess/a.txt\""};
	ok(in_order(all.data, rm, 4), "rm: the delete");
	ok(strstr(all.data, "\"snapshots\":{\"start\":{\"processes\":[") && strstr(all.data, "\"diff\":{\"processes_gone\":"),
	   "snapshots and their diff are present");
	ok(strstr(text.data, "\033[31m") && strstr(text.data, "$ touch a.txt") && strstr(text.data, "create /tmp/frfixture-sess/a.txt"),
	   "text tree, with colour when asked");
	/* effects of the nested shell are shown once, under their line */
	const char *c1 = strstr(all.data, "\"path\":\"/tmp/frfixture-sess/root.txt\"");
	ok(c1 && !strstr(c1 + 1, "\"path\":\"/tmp/frfixture-sess/root.txt\""), "each effect appears once in the tree");
	/* The same login with every time truncated to the second (coarser than
	 * the recorder's millisecond default): lines, processes and effects
	 * are attributed by the order of events, so the tree is the same once
	 * the times themselves are blanked out. */
	fl_segment_rewind(seg);
	struct fr_session_builder *sb_coarse;
	ok(fr_session_builder_new(&sb_coarse) == 0, "builder for second-truncated times");
	while ((r = fl_segment_next(seg, &ev)) == 1) {
		ev.ts_ns -= ev.ts_ns % 1000000000u;
		if (fr_session_builder_add(sb_coarse, &ev) < 0)
			break;
	}
	struct fr_buf coarse = {0};
	ok(fr_session_count(sb_coarse) == 1 && fr_session_tree_json(fr_session_at(sb_coarse, 0), true, &coarse) == 0,
	   "tree of the second-truncated login");
	char *shape_ns = blank_times(all.data), *shape_s = blank_times(coarse.data);
	ok(shape_ns && shape_s && !strcmp(shape_ns, shape_s),
	   "same tree with times truncated to the second (attribution by order)");
	free(shape_ns);
	free(shape_s);
	fr_buf_free(&coarse);
	fr_session_builder_free(sb_coarse);
	fr_buf_free(&all);
	fr_buf_free(&some);
	fr_buf_free(&text);
	fr_session_builder_free(sb);

	/* the same login with 7 events lost in the middle: reported incomplete */
	fl_segment_rewind(seg);
	ok(fr_session_builder_new(&sb) == 0, "second builder");
	n = 0;
	while (fl_segment_next(seg, &ev) == 1) {
		if (n++ == 60) {
			struct fr_event lost = {.ts_ns = ev.ts_ns, .kind = FR_EV_LOST, .count = 7, .host = ev.host,
						.auid = FR_ID_UNSET, .ses = FR_ID_UNSET, .path = "ring buffer full"};
			fr_session_builder_add(sb, &lost);
		}
		fr_session_builder_add(sb, &ev);
	}
	fr_session_summarize(fr_session_at(sb, 0), &sum);
	ok(!sum.complete && sum.lost == 7, "events lost during the session: complete false, with the count");
	struct fr_buf js = {0};
	fr_session_summary_json(fr_session_at(sb, 0), &js);
	ok(js.data && strstr(js.data, "\"complete\":false,\"lost\":7"), "and so says its JSON: %s", js.data);
	fr_buf_free(&js);
	fr_session_builder_free(sb);
	fl_segment_free(seg);

	/* pid reuse: pid 201 of the session goes away without its exit being
	 * seen (lost); a later, unrelated process gets pid 201 again, with
	 * another start time: its effects are not the session's. Synthetic,
	 * because a real reuse needs the pid space to wrap around. */
	ok(fr_session_builder_new(&sb) == 0, "third builder");
	uint64_t t = 1700000000000000000ull;
	struct fr_event base = {.host = "h", .comm = "bash", .exe = "/usr/bin/bash", .auid = 1000, .ses = 7,
				.uid = 1000, .euid = 1000, .tty = 136u << 20};
	struct fr_event e1 = base;
	e1.ts_ns = t; e1.kind = FR_EV_LINE; e1.pid = e1.tid = 100; e1.pstart_ns = t - 5; e1.line = "touch x";
	fr_session_builder_add(sb, &e1);
	struct fr_event e2 = base;
	e2.ts_ns = t + 10; e2.kind = FR_EV_FORK; e2.pid = e2.tid = 100; e2.pstart_ns = t - 5; e2.child_pid = 201;
	fr_session_builder_add(sb, &e2);
	struct fr_event e3 = base;
	e3.ts_ns = t + 20; e3.kind = FR_EV_CREATE; e3.pid = e3.tid = 201; e3.pstart_ns = t + 10; e3.comm = "touch";
	e3.path = "/tmp/x"; e3.flags = 0101;
	fr_session_builder_add(sb, &e3);
	struct fr_event e5 = {.host = "h", .comm = "cron", .auid = FR_ID_UNSET, .ses = FR_ID_UNSET, .ts_ns = t + 40,
			      .kind = FR_EV_CREATE, .pid = 201, .tid = 201, .pstart_ns = t + 35, .path = "/etc/reused",
			      .flags = 0101};
	fr_session_builder_add(sb, &e5);
	struct fr_buf pj = {0};
	fr_session_tree_json(fr_session_at(sb, 0), true, &pj);
	ok(pj.data && strstr(pj.data, "\"path\":\"/tmp/x\"") && !strstr(pj.data, "/etc/reused"),
	   "a reused pid's later process is not part of the session");
	fr_buf_free(&pj);
	fr_session_builder_free(sb);
	return tap_done();
}
