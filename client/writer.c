/* writer.c — encodes commands as RESP arrays of bulk strings.
 *
 *   *<argc>\r\n  then for each argument  $<len>\r\n<bytes>\r\n
 *
 * Binary safe: lengths come from argvlen, never from strlen, unless the
 * caller passes argvlen == NULL to say the arguments are C strings. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static size_t digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static size_t arg_len(const char *const argv[], const size_t argvlen[], int i)
{
    return argvlen ? argvlen[i] : strlen(argv[i]);
}

/* Bytes needed for the encoding, or SIZE_MAX on overflow. */
static size_t encoded_len(int argc, const char *const argv[], const size_t argvlen[])
{
    size_t total = 1 + digits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t l = arg_len(argv, argvlen, i);
        size_t item = 1 + digits(l) + 2 + 2;
        if (l > SIZE_MAX - item || total > SIZE_MAX - item - l)
            return SIZE_MAX;
        total += item + l;
    }
    return total;
}

static char *put_header(char *p, char type, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *p++ = type;
    while (n)
        *p++ = tmp[--n];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static void encode(char *p, int argc, const char *const argv[], const size_t argvlen[])
{
    p = put_header(p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t l = arg_len(argv, argvlen, i);
        p = put_header(p, '$', l);
        if (l)
            memcpy(p, argv[i], l);
        p += l;
        *p++ = '\r';
        *p++ = '\n';
    }
}

static int check_args(int argc, const char *const argv[], const size_t argvlen[])
{
    if (argc < 1 || argv == NULL)
        return KV_EINVAL;
    for (int i = 0; i < argc; i++)
        if (argv[i] == NULL && (argvlen == NULL || argvlen[i] != 0))
            return KV_EINVAL;
    return 0;
}

int kv_format_command(char *buf, size_t cap, size_t *len, int argc, const char *const argv[],
                      const size_t argvlen[])
{
    if (len == NULL || check_args(argc, argv, argvlen) < 0 || (buf == NULL && cap > 0))
        return KV_EINVAL;
    size_t need = encoded_len(argc, argv, argvlen);
    if (need == SIZE_MAX)
        return KV_EINVAL;
    *len = need;
    if (need > cap)
        return KV_ERANGE;
    encode(buf, argc, argv, argvlen);
    return 0;
}

int kvc_append_command(kvc_buf *b, int argc, const char *const argv[], const size_t argvlen[])
{
    if (check_args(argc, argv, argvlen) < 0)
        return KV_EINVAL;
    size_t need = encoded_len(argc, argv, argvlen);
    if (need == SIZE_MAX)
        return KV_EINVAL;
    if (kvc_buf_reserve(b, need) < 0)
        return KV_ENOMEM;
    encode(b->data + b->len, argc, argv, argvlen);
    b->len += need;
    return 0;
}
