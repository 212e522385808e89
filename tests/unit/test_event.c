/* test_event - the event model: names, tty names, JSON encoding. */
#include "event/event.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>

static char *json(const struct fr_event *ev)
{
	struct fr_buf b = {0};
	if (fr_event_to_json(ev, &b) < 0)
		return NULL;
	return b.data;
}

int main(void)
{
	for (uint32_t k = 1; k < FR_EV__COUNT; k++)
		ok(fr_kind_from_name(fr_kind_name(k)) == k, "kind %u round-trips through its name %s", k,
		   fr_kind_name(k));
	ok(fr_kind_name(FR_EV__COUNT) == NULL, "unknown kind has no name");
	ok(fr_kind_from_name("nonsense") == FR_EV_NONE, "unknown name is FR_EV_NONE");
	is_str(fr_errno_name(ENOENT), "ENOENT", "errno name");
	ok(fr_errno_name(9999) == NULL, "unknown errno has no name");

	char buf[32];
	is_str(fr_tty_name(136u << 20 | 3, buf, sizeof(buf)), "pts/3", "pts/3");
	is_str(fr_tty_name(137u << 20 | 4, buf, sizeof(buf)), "pts/260", "pts above 255");
	is_str(fr_tty_name(4u << 20 | 1, buf, sizeof(buf)), "tty1", "tty1");
	is_str(fr_tty_name(4u << 20 | 64, buf, sizeof(buf)), "ttyS0", "ttyS0");
	ok(fr_tty_name(0, buf, sizeof(buf)) == NULL, "no tty");

	fr_format_ts(1795337015632555364ull, buf, sizeof(buf));
	is_str(buf, "2026-11-22T08:43:35.632555364Z", "RFC 3339 with nanoseconds");

	static const char argv[] = "echo\0a \"b\"\0\n\0";
	struct fr_event ev = {
		.ts_ns = 1000000001ull, .kind = FR_EV_EXEC, .pid = 10, .tid = 10, .ppid = 1, .uid = 0, .euid = 0,
		.auid = 1000, .ses = FR_ID_UNSET, .tty = 136u << 20, .cgroup = 7, .host = "h", .comm = "echo",
		.exe = "/usr/bin/echo", .path = "/usr/bin/echo", .argv = argv, .argv_len = sizeof(argv) - 1,
		.cwd = "/tmp/\xff" "d",
	};
	char *j = json(&ev);
	is_str(j,
	       "{\"ts\":\"1970-01-01T00:00:01.000000001Z\",\"host\":\"h\",\"event\":\"exec\",\"pid\":10,"
	       "\"tid\":10,\"ppid\":1,\"uid\":0,\"euid\":0,\"auid\":1000,\"ses\":null,\"tty\":\"pts/0\","
	       "\"comm\":\"echo\",\"exe\":\"/usr/bin/echo\",\"cgroup\":7,\"path\":\"/usr/bin/echo\","
	       "\"argv\":[\"echo\",\"a \\\"b\\\"\",\"\\n\"],\"cwd\":\"/tmp/\\u00ffd\"}\n",
	       "exec JSON: escapes, argv array, null ses, invalid UTF-8 as \\u00XX");
	free(j);

	struct fr_event op = {.kind = FR_EV_CREATE, .auid = FR_ID_UNSET, .ses = 3, .path = "/a", .error = EACCES,
			      .flags = 01 | 0100 | 01000 | 02000000, .mode = 0644};
	j = json(&op);
	ok(j && strstr(j, "\"flags\":[\"wronly\",\"creat\",\"trunc\",\"cloexec\"],\"mode\":\"0644\""),
	   "open flags as names, mode in octal: %s", j);
	ok(j && strstr(j, "\"error\":\"EACCES\""), "error by name");
	free(j);

	struct fr_event net = {.kind = FR_EV_CONNECT, .proto = FR_PROTO_TCP, .port = 5, .rport = 80,
			       .addr = {.family = 4, .bytes = {127, 0, 0, 1}},
			       .raddr = {.family = 6, .bytes = {[15] = 1}}};
	j = json(&net);
	ok(j && strstr(j, "\"proto\":\"tcp\",\"addr\":\"127.0.0.1\",\"port\":5,\"raddr\":\"::1\",\"rport\":80"),
	   "addresses: %s", j);
	free(j);

	struct fr_event a = ev, b = ev;
	is_int(fr_event_compare(&a, &b), 0, "an event equals itself");
	b.cwd = "/tmp";
	ok(fr_event_compare(&a, &b) != 0, "a different cwd is a difference");
	b = ev;
	b.argv = NULL;
	b.argv_len = 0;
	ok(fr_event_compare(&a, &b) != 0, "a missing argv is a difference");
	b = ev;
	b.path = NULL;
	ok(fr_event_compare(&a, &b) != 0, "NULL and a string differ");
	return tap_done();
}
