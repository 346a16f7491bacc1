/* tlist.h — the list value type: a deque of binary-safe byte strings.
 *
 * A ring buffer of pointers to length-prefixed elements: O(1) push/pop at
 * both ends, O(1) index, O(n) insert/remove in the middle (memmove of
 * pointers). Memory comes from mem.h. Views returned by list_get stay valid
 * until the list is next modified. Indexes here are always 0..len-1 (or len
 * where stated); callers normalize negative Redis indexes. */
#ifndef KV_TLIST_H
#define KV_TLIST_H

#include <stddef.h>

typedef struct kv_list kv_list;

enum { LIST_HEAD = 0, LIST_TAIL = 1 };

kv_list *list_new(void);
void list_free(kv_list *l); /* NULL is fine */
size_t list_len(const kv_list *l);
/* Bytes this list holds, including element and bookkeeping overhead. */
size_t list_mem(const kv_list *l);

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
