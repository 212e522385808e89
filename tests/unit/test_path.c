/* test_path - absolute paths from dentry chains and syscall names. */
#include "sensor/sensor.h"
#include "tap.h"

#include <errno.h>

static const char *build(const char *chain, size_t len, const char *name)
{
	static char out[256];
	int r = fr_path_build(chain, len, name, out, sizeof(out));
	return r < 0 && r != -ENAMETOOLONG ? "(error)" : out;
}

#define CHAIN(s) s, sizeof(s) - 1

int main(void)
{
	is_str(build(CHAIN("wk\0tmp\0"), NULL), "/tmp/wk", "chain alone, reversed");
	is_str(build(CHAIN("wk\0tmp\0"), "a.txt"), "/tmp/wk/a.txt", "relative name joined");
	is_str(build(CHAIN("wk\0tmp\0"), "/etc/passwd"), "/etc/passwd", "absolute name ignores the chain");
	is_str(build(CHAIN("sub\0wk\0tmp\0"), "../x"), "/tmp/wk/x", "dot-dot");
	is_str(build(CHAIN("sub\0wk\0tmp\0"), "./y/./z/"), "/tmp/wk/sub/y/z", "dots and trailing slash");
	is_str(build(CHAIN("a\0"), "../../../.."), "/", "dot-dot stops at the root");
	is_str(build("", 0, "rel"), "/rel", "empty chain is the root");
	is_str(build(NULL, 0, "//etc//ssh///sshd_config"), "/etc/ssh/sshd_config", "repeated slashes");
	is_str(build(CHAIN("pipe:[123]\0"), NULL), "/pipe:[123]", "pseudo filesystem name");
	is_str(build(CHAIN("x\0/\0"), NULL), "/x", "a pseudo root named / is skipped");
	char small[8];
	is_int(fr_path_build(NULL, 0, "/abcdefghij", small, sizeof(small)), -ENAMETOOLONG, "too long is reported");
	is_str(small, "/abcdef", "and cut to the buffer");
	is_int(fr_path_build(NULL, 0, NULL, small, sizeof(small)), -EINVAL, "no chain and no name");
	return tap_done();
}
