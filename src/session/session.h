/* session.h - change windows: interactive sessions and their command trees.
 *
 * Why: an outage is usually one person's change. The builder turns the
 * event stream (live from the sensor, or read back from the flight log) into
 * sessions: one per audit session id (`ses`, set by pam_loginuid at login and
 * unchangeable by the user), or, where `ses` is unset, one per interactive
 * shell. Each session holds the tree of what was typed (bash `line` events),
 * the processes each line started (by fork lineage, so nohup, setsid, sudo
 * and su stay inside), and every side effect of each process, plus snapshots
 * of the processes and listening ports at its start and end.
 *
 * The same code runs on the agent and, later, on the server. Memory: the
 * builder keeps every session it has seen and the nodes of their processes;
 * processes outside any session are freed when they exit.
 */
#ifndef FLIGHTREC_SESSION_H
#define FLIGHTREC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

struct fr_session_builder;
struct fr_session;

/* New empty builder; the caller owns *out (fr_session_builder_free). */
int fr_session_builder_new(struct fr_session_builder **out);

/* Feed one event, in stream order. The builder copies what it keeps. */
int fr_session_builder_add(struct fr_session_builder *sb, const struct fr_event *ev);

/* Sessions seen so far, in order of their start. Borrowed, valid until the
 * builder is freed. */
size_t fr_session_count(const struct fr_session_builder *sb);
const struct fr_session *fr_session_at(const struct fr_session_builder *sb, size_t i);
/* The session with this id, or NULL. */
const struct fr_session *fr_session_find(const struct fr_session_builder *sb, const char *id);

/* A session's summary, for listing. */
struct fr_session_summary {
	const char *id;
	const char *host;
	uint32_t auid, ses;    /* FR_ID_UNSET when unset */
	uint32_t tty;          /* of the login shell; 0 when none */
	struct fr_addr client; /* family 0 when unknown */
	uint32_t client_port;
	uint64_t start_ns, end_ns; /* end 0: still open */
	bool interactive;
	bool complete;         /* no events were lost while it was open */
	uint64_t lost;
	uint32_t commands, commands_with_effects;
};
void fr_session_summarize(const struct fr_session *s, struct fr_session_summary *out);

/* The session object as JSON (no trailing newline), docs/EVENTS.md. */
int fr_session_summary_json(const struct fr_session *s, struct fr_buf *out);

/* {"session": {...}, "commands": [...], "snapshots": {...}} + "\n".
 * all: include commands without side effects. */
int fr_session_tree_json(const struct fr_session *s, bool all, struct fr_buf *out);

/* The tree as indented text, for a terminal; color: ANSI red for commands
 * and effects that change state. */
int fr_session_tree_text(const struct fr_session *s, bool all, bool color, struct fr_buf *out);

/* Accepts NULL. */
void fr_session_builder_free(struct fr_session_builder *sb);

#endif
