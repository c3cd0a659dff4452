/* mg_md5: MD5 (RFC 1321) of a byte string. Only relabel's hashmod uses it,
 * because Prometheus hashes with MD5 and a shard number must agree with
 * Prometheus's bit for bit; it is not for anything that needs security.
 * Owns no state. */
#ifndef MG_MD5_H
#define MG_MD5_H

#include <stddef.h>

#define MG_MD5_LEN 16

/* Writes the 16-byte digest of the n bytes at data into out. */
void mg_md5(const void *data, size_t n, unsigned char out[MG_MD5_LEN]);

#endif
