/* mg_check: `moongate check`: scripts and rules loaded as a test, the
 * config with its credentials and certificates, and dry runs: sample input
 * (msgpack, JSON lines or the text format) through the scripts, then the
 * rules once, each series' fate printed. Owns nothing past one call. */
#ifndef MG_CHECK_H
#define MG_CHECK_H

#include <stdio.h>

/* argv[0..argc) are the words after "check". Prints to stdout and stderr;
 * usage is called on a bad command line. Returns the exit status: 0 all
 * good, 1 a file that does not load or a runtime error in a dry run, 2 a
 * bad command line or input that does not decode. */
int mg_check_main(int argc, char **argv, void (*usage)(FILE *f));

#endif
