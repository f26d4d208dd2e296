/* proc-priv.h — proc's seams for the tests (libvirt's *priv.h
 * convention): the command-line matcher. Not for other modules. */
#ifndef FERRY_PROC_PRIV_H
#define FERRY_PROC_PRIV_H

#include "proc.h"

/* True if cmdline (argv, NUL-separated, len bytes) is a QEMU whose -name is
 * name (libvirt doubles commas in it: "guest=a,,b,debug-threads=on" is 'a,b'). */
bool proc_cmdline_is_domain(const char *cmdline, size_t len, const char *name);

#endif
