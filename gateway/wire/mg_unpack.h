/* mg_unpack: decodes one msgpack object into a msgpack_object tree, as
 * msgpack-c's msgpack_unpack does (the same return codes, offsets, object
 * types and tree; str, bin and ext point into the input), in one pass that
 * writes each object straight into its parent's slot instead of building it
 * aside and copying it in. Knows nothing of what the objects mean. */
#ifndef MG_UNPACK_H
#define MG_UNPACK_H

#include <stddef.h>

#include <msgpack.h>
#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE, which msgpack.h leaves out */

/* msgpack_unpack's nesting limit: a container opened while this many
 * non-empty containers are open fails with MSGPACK_UNPACK_NOMEM_ERROR. */
#define MG_UNPACK_MAX_DEPTH MSGPACK_EMBED_STACK_SIZE

/* Decodes the object at data + *off (off NULL: at data). Returns
 * MSGPACK_UNPACK_SUCCESS (it ends at len), _EXTRA_BYTES (it ends before),
 * _CONTINUE (the bytes end inside it), _PARSE_ERROR (0xc1, an ext whose
 * length wraps) or _NOMEM_ERROR (z is exhausted, or nesting deeper than
 * MG_UNPACK_MAX_DEPTH). *root is written on the first two only; *off moves
 * past the object on those and to where the bytes ran out on _CONTINUE,
 * and stays on errors. A container is given no more slots than the bytes
 * left can fill, so a header claiming 2^32 elements allocates nothing
 * huge: the input ends first (_CONTINUE). The tree lives in z and borrows
 * data; both must outlive it. */
msgpack_unpack_return mg_unpack(const char *data, size_t len, size_t *off,
                                msgpack_zone *z, msgpack_object *root);

#endif
