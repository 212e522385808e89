/* path.c - absolute paths from the kernel's dentry chains and syscall names.
 *
 * Why: without bpf_d_path, the BPF side sends the directory as a list of
 * dentry names (leaf first) and the name as the process passed it. Joining
 * them here, and removing "." and ".." lexically, gives the absolute path the
 * kernel resolved: the directory part is exactly the kernel's, and only
 * symlinks inside a relative name's own directories are left unresolved. */
#include "sensor/sensor.h"

#include <errno.h>
#include <string.h>

struct out {
	char *p;
	size_t len, cap;
	bool cut;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		n = o->cap > o->len + 1 ? o->cap - o->len - 1 : 0;
		o->cut = true;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Append one component, handling "." and "..". */
static void component(struct out *o, const char *c, size_t n)
{
	if (n == 0 || (n == 1 && c[0] == '.'))
		return;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		while (o->len > 1 && o->p[o->len - 1] != '/')
			o->len--;
		if (o->len > 1)
			o->len--; /* the slash before the removed component */
		o->p[o->len] = '\0';
		return;
	}
	if (o->len > 1 || (o->len == 1 && o->p[0] != '/'))
		put(o, "/", 1);
	put(o, c, n);
}

int fr_path_build(const char *chain, size_t chain_len, const char *name, char *buf, size_t cap)
{
	if (cap < 2)
		return -EINVAL;
	if (!chain && !name)
		return -EINVAL;
	struct out o = {.p = buf, .len = 0, .cap = cap};
	put(&o, "/", 1);
	if (chain && !(name && name[0] == '/')) {
		/* components are leaf first: walk them from the end */
		size_t end = chain_len;
		while (end > 0 && chain[end - 1] == '\0')
			end--;
		size_t starts[512];
		size_t n = 0;
		size_t i = 0;
		while (i < end && n < sizeof(starts) / sizeof(starts[0])) {
			starts[n++] = i;
			i += strnlen(chain + i, end - i) + 1;
		}
		while (n-- > 0) {
			const char *c = chain + starts[n];
			size_t len = strnlen(c, end - starts[n]);
			/* the root of a pseudo filesystem is named "/" */
			if (len == 1 && c[0] == '/')
				continue;
			component(&o, c, len);
		}
	}
	if (name) {
		const char *p = name;
		while (*p) {
			const char *slash = strchr(p, '/');
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			component(&o, p, len);
			p += len;
			if (*p == '/')
				p++;
		}
	}
	return o.cut ? -ENAMETOOLONG : (int)o.len;
}
