/* reply.c — allocation and release of kv_reply trees. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

kv_reply *kvc_reply_new(kv_reply_type type)
{
    kv_reply *r = kvc_calloc(1, sizeof *r);
    if (r)
        r->type = type;
    return r;
}

void kv_reply_free(kv_reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->elements; i++)
        kv_reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    kv_reply_free(r->attr);
    free(r);
}

int kvc_reply_is_error(const kv_reply *r, const char *word)
{
    if (r == NULL || r->type != KV_REPLY_ERROR || r->str == NULL)
        return 0;
    size_t n = strlen(word);
    return r->len >= n && memcmp(r->str, word, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}
