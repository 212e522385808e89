/* proc_table.c - pid -> process identity and executable, for the sensor.
 *
 * Why: `exe` is a common field of every event, but resolving it in the
 * kernel on each event would cost a dentry walk. The table learns it from
 * exec events and the /proc snapshot, and children inherit it at fork. */
#include "sensor/sensor_int.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(const struct proc_table *t, uint32_t pid)
{
	return (pid * 2654435761u) & (t->cap - 1);
}

struct proc_entry *proc_table_get(struct proc_table *t, uint32_t pid)
{
	if (!t->cap || !pid)
		return NULL;
	for (size_t i = slot_of(t, pid), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		if (t->slots[i].pid == pid)
			return &t->slots[i];
		if (t->slots[i].pid == 0)
			return NULL;
	}
	return NULL;
}

static int grow(struct proc_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 4096;
	struct proc_entry *s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	struct proc_table nt = {.slots = s, .cap = cap};
	for (size_t i = 0; i < t->cap; i++) {
		struct proc_entry *e = &t->slots[i];
		if (!e->pid)
			continue;
		size_t j = slot_of(&nt, e->pid);
		while (nt.slots[j].pid)
			j = (j + 1) & (cap - 1);
		nt.slots[j] = *e;
		nt.used++;
	}
	free(t->slots);
	*t = nt;
	return 0;
}

int proc_table_put(struct proc_table *t, uint32_t pid, uint32_t ppid, uint64_t pstart, char *exe)
{
	if (!pid) {
		free(exe);
		return -EINVAL;
	}
	struct proc_entry *e = proc_table_get(t, pid);
	if (!e) {
		if ((t->used + 1) * 4 > t->cap * 3) {
			int r = grow(t);
			if (r < 0) {
				free(exe);
				return r;
			}
		}
		size_t i = slot_of(t, pid);
		while (t->slots[i].pid)
			i = (i + 1) & (t->cap - 1);
		e = &t->slots[i];
		t->used++;
	} else {
		free(e->exe);
	}
	e->pid = pid;
	e->ppid = ppid;
	e->pstart = pstart;
	e->exe = exe;
	return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
void proc_table_remove(struct proc_table *t, uint32_t pid)
{
	struct proc_entry *e = proc_table_get(t, pid);
	if (!e)
		return;
	free(e->exe);
	size_t i = (size_t)(e - t->slots);
	size_t j = i;
	for (;;) {
		t->slots[i].pid = 0;
		t->slots[i].exe = NULL;
		for (;;) {
			j = (j + 1) & (t->cap - 1);
			if (!t->slots[j].pid)
				goto done;
			size_t k = slot_of(t, t->slots[j].pid);
			/* move j into i unless k lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		t->slots[i] = t->slots[j];
		i = j;
	}
done:
	t->used--;
}

void proc_table_free(struct proc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].exe);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = 0;
}
