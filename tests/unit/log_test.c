/* log_test.c - unit tests of lib/log.c: printable() and the sink's scrub */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>
#include <syslog.h>

#include "../t.h"
#include "../../lib/log.h"

int
main(void)
{
	char buf[16];

	is_str(printable(buf, sizeof(buf), "a\tb\x9b[2Jc\x7f", 9),
	    "a?b?[2Jc?", "printable: controls, C1 and DEL become ?");
	is_str(printable(buf, 4, "abcdef", 6), "abc", "printable: capped");

	/* Whatever a caller forgets, the sink itself never lets a byte
	   outside 0x20..0x7e through: not a newline, not a C1 control
	   (0x9b is a terminal's escape introducer), not UTF-8. */
	log_open("log_test", LOG_SINK_MEMORY, LOG_MAIL);
	log_memory_clear();
	log_info("x=%s", "a\nb\x9b[2J\xc3\xa9\x7f");
	is_str(log_memory(), "x=a?b?[2J???\n",
	    "the sink scrubs newlines, C1 controls, 8-bit bytes and DEL");
	log_memory_clear();
	return t_done();
}
