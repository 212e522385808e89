/* cli_log.c - open a flight log given on the command line: a store
 * directory or one segment file, for dump, stats and verify.
 *
 * Why: every reading command accepts both, reports damage the same way
 * ("FILE: offset N: ...") and goes on with the other segments. */
#include "cli/cli.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_file(const char *path, void **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t n = (size_t)st.st_size;
	char *p = malloc(n ? n : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	*buf = p;
	*len = got;
	return 0;
}

/* Open one segment image (with the priors of store st, which may be NULL)
 * and hand it to fn; damage is reported and counted, not fatal. Takes
 * ownership of buf. */
static int each_segment(struct fl_store *st, void *buf, size_t len, const char *name,
			const struct fl_read_opts *ro, cli_segment_fn fn, void *ctx, int *damaged)
{
	struct fl_segment *seg = NULL;
	struct fl_error err = {0};
	int r = st ? fl_store_segment_open(st, buf, len, ro, &seg, &err) : fl_segment_open_ex(buf, len, ro, &seg, &err);
	free(buf);
	if (r < 0) {
		char msg[256];
		cli_error("%s: %s", name, fl_error_format(&err, msg, sizeof(msg)));
		(*damaged)++;
		return 0;
	}
	r = fn(seg, name, ctx);
	fl_segment_free(seg);
	return r;
}

int cli_log_each(const char *path, uint32_t columns, uint32_t flags, cli_segment_fn fn, void *ctx, int *damaged)
{
	return cli_log_each_ex(path, columns, flags, fn, ctx, damaged, NULL);
}

int cli_log_each_ex(const char *path, uint32_t columns, uint32_t flags, cli_segment_fn fn, void *ctx, int *damaged,
		    struct cli_log_priors *priors)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = -errno;
		cli_error("%s: %s", path, strerror(-e));
		return e;
	}
	struct fl_read_opts ro = {.columns = columns, .flags = flags & ~CLI_LOG_OPEN};
	if (!S_ISDIR(st.st_mode)) {
		void *buf = NULL;
		size_t len = 0;
		int r = read_file(path, &buf, &len);
		if (r < 0) {
			cli_error("%s: %s", path, strerror(-r));
			return r;
		}
		/* its priors are beside it (none found: the open names the one
		 * it needs) */
		struct fl_store *fst = NULL;
		if (fl_segment_peek_prior(buf, len, NULL) == 1 && fl_store_open_beside(path, &fst) < 0)
			fst = NULL;
		r = each_segment(fst, buf, len, path, &ro, fn, ctx, damaged);
		fl_store_close(fst);
		return r;
	}
	struct fl_store *store;
	void *image = NULL;
	size_t image_len = 0;
	uint64_t image_seq = 0;
	int r = flags & CLI_LOG_OPEN ? fl_store_open_live(path, &store, &image, &image_len, &image_seq, NULL)
				     : fl_store_open(path, &store);
	if (r < 0) {
		cli_error("%s: cannot open the flight log: %s", path, strerror(-r));
		return r;
	}
	size_t n;
	const struct fl_store_entry *ents = fl_store_entries(store, &n);
	struct fl_store_entry *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy) {
		free(image);
		fl_store_close(store);
		return -ENOMEM;
	}
	if (n) /* ents is NULL in an empty store */
		memcpy(copy, ents, n * sizeof(*copy));
	for (size_t i = 0; i < n && r >= 0; i++) {
		char name[4200];
		snprintf(name, sizeof(name), "%s/%s", path, copy[i].name);
		void *buf = NULL;
		size_t len = 0;
		r = fl_store_read(store, copy[i].seq, &buf, &len);
		if (r < 0) {
			cli_error("%s: %s", name, strerror(-r));
			(*damaged)++;
			r = 0;
			continue;
		}
		r = each_segment(store, buf, len, name, &ro, fn, ctx, damaged);
	}
	if (image && r >= 0) {
		char name[4200];
		fl_store_journal_path(store, name, sizeof(name));
		r = each_segment(store, image, image_len, name, &ro, fn, ctx, damaged);
		image = NULL; /* each_segment owns it */
	}
	free(image);
	if (priors)
		priors->bytes = fl_store_prior_bytes(store, &priors->count);
	free(copy);
	fl_store_close(store);
	return r;
}
