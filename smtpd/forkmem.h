/* forkmem.h - make a master with a big ruleset cheap to fork */
/*
 * fork() copies one page-table entry per page of anonymous memory and
 * exit() drops them again. A master holding a 5,000-line rules file has
 * about 12 MB of it: some 3,000 entries, a few hundred microseconds of
 * CPU for every session (measured: 370 us for fork + exit + wait with
 * 12 MB, against 160 us once it is in 2 MB pages). So the daemon's
 * master starts its heap on a 2 MB boundary, keeps large blocks on it,
 * and after each (re)load of the rules asks the kernel to collapse its
 * anonymous memory into transparent huge pages (MADV_COLLAPSE, Linux
 * 6.1). A child that writes into such a page gets it split and copies
 * only the 4 KB it writes. Best effort throughout: without the kernel's
 * support nothing changes but the cost. glibc and Linux only.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_FORKMEM_H
#define SMTPD_FORKMEM_H

/*
 * forkmem_prepare - call first in main(), before any allocation: move
 * the program break to a 2 MB boundary (not in a static program), and
 * serve blocks up to 32 MB from the heap rather than from mmap(), so
 * that the rules end up in one range that can be collapsed.
 */
void forkmem_prepare(void);

/*
 * forkmem_open - open /proc/self/maps (as root, before the chroot: the
 * jail has no /proc); the descriptor, or -1. Keep it for forkmem_share.
 */
int forkmem_open(void);

/*
 * forkmem_share - collapse every private anonymous mapping (the heap
 * included, the stack not) into 2 MB pages, as far as they hold whole
 * aligned 2 MB ranges. maps_fd from forkmem_open(), or -1 (nothing is
 * done). Returns the number of 2 MB pages asked for; logs it at debug.
 */
int forkmem_share(int maps_fd);

#endif
