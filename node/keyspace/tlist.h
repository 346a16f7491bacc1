/* tlist.h — the list value type: a deque of binary-safe byte strings.
 *
 * Small lists (what Redis 7.0 keeps in one quicklist node under
 * list-max-listpack-size) are one compact buffer of length-prefixed
 * elements, like a listpack: push/pop and sequential access are O(1) per
 * element, other accesses O(buffer). Larger ones are a ring buffer of
 * pointers to elements: O(1) push/pop at both ends, O(1) index, O(n)
 * insert/remove in the middle. A list changes form by itself (tlist.c);
 * OBJECT ENCODING says "quicklist" for both, as Redis 7.0. Memory comes
 * from mem.h. Views returned by list_get stay valid until the list is next
 * modified. Indexes here are always 0..len-1 (or len where stated); callers
 * normalize negative Redis indexes. Only the event-loop thread may use a
 * list, even to read it (list_get moves a cached cursor). */
#ifndef KV_TLIST_H
#define KV_TLIST_H

#include <stddef.h>

typedef struct kv_list kv_list;

enum { LIST_HEAD = 0, LIST_TAIL = 1 };

/* CONFIG list-max-listpack-size (Redis 7.0's meaning and default -2):
 * negative, the compact form holds up to 4 KB << (-n - 1) bytes (-5 and
 * below: 64 KB); positive, up to n elements within 8 KB. Read when a list
 * grows or shrinks; existing lists are not rewritten when it changes. */
extern int list_max_listpack_size;

/* DEBUG QUICKLIST-PACKED-THRESHOLD (Redis 7.0's packed_threshold, default
 * 1 GB): an element of at least this many bytes is a quicklist node of its
 * own (a plain node) in Redis; DUMP writes lists so. */
extern size_t list_packed_threshold;

/* CONFIG list-compress-depth. kvnode keeps lists uncompressed; DEBUG
 * OBJECT reports whether Redis would compress (ql_compressed). */
extern int list_compress_depth;

kv_list *list_new(void);
void list_free(kv_list *l); /* NULL is fine */
size_t list_len(const kv_list *l);
/* Bytes this list holds, including element and bookkeeping overhead. */
size_t list_mem(const kv_list *l);
/* 1 while the list is in its compact single-buffer form (tests, DEBUG). */
int list_compact(const kv_list *l);

void list_push(kv_list *l, int where, const void *p, size_t n);
/* View of element idx (0 <= idx < len). */
void list_get(const kv_list *l, size_t idx, const char **p, size_t *n);
/* Replace element idx (0 <= idx < len). */
void list_set(kv_list *l, size_t idx, const void *p, size_t n);
/* Insert so the new element ends up at position idx (0 <= idx <= len). */
void list_insert(kv_list *l, size_t idx, const void *p, size_t n);
/* Remove `count` elements starting at idx (idx + count <= len). */
void list_remove(kv_list *l, size_t idx, size_t count);
/* Remove up to `limit` elements equal to the n bytes at p (limit 0: all
 * of them), scanning from the head (from == LIST_HEAD) or from the tail
 * (LIST_TAIL); the others keep their order. One pass, O(len) however many
 * go. p must not point into this list. Returns the number removed. */
size_t list_remove_equal(kv_list *l, const void *p, size_t n, size_t limit, int from);

#endif
