/* kvcli_format.c — prints replies exactly as redis-cli 7 does, on a
 * terminal (cli_format_tty) and in raw mode (cli_format_raw). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvcli.h"

/* ---- Strings ---- */

static void grow(cli_str *s, size_t more)
{
    if (s->cap - s->len > more)
        return;
    size_t ncap = s->cap ? s->cap : 64;
    while (ncap - s->len <= more)
        ncap *= 2;
    char *p = realloc(s->p, ncap);
    if (p == NULL) {
        fputs("kvcli: out of memory\n", stderr);
        abort();
    }
    s->p = p;
    s->cap = ncap;
}

void cli_str_cat(cli_str *s, const char *p, size_t n)
{
    grow(s, n);
    if (n)
        memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

void cli_str_cats(cli_str *s, const char *p)
{
    cli_str_cat(s, p, strlen(p));
}

void cli_str_printf(cli_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    grow(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void cli_str_free(cli_str *s)
{
    free(s->p);
    s->p = NULL;
    s->len = s->cap = 0;
}

void cli_repr(cli_str *out, const char *p, size_t n)
{
    cli_str_cat(out, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': cli_str_cat(out, "\\\\", 2); break;
        case '"': cli_str_cat(out, "\\\"", 2); break;
        case '\n': cli_str_cat(out, "\\n", 2); break;
        case '\r': cli_str_cat(out, "\\r", 2); break;
        case '\t': cli_str_cat(out, "\\t", 2); break;
        case '\a': cli_str_cat(out, "\\a", 2); break;
        case '\b': cli_str_cat(out, "\\b", 2); break;
        default:
            if (ch >= 0x20 && ch < 0x7f)
                cli_str_cat(out, (const char *)&ch, 1);
            else
                cli_str_printf(out, "\\x%02x", ch);
        }
    }
    cli_str_cat(out, "\"", 1);
}

/* ---- Terminal format ---- */

static const char *empty_name(kv_reply_type t)
{
    switch (t) {
    case KV_REPLY_ARRAY: return "(empty array)\n";
    case KV_REPLY_MAP: return "(empty hash)\n";
    case KV_REPLY_SET: return "(empty set)\n";
    case KV_REPLY_PUSH: return "(empty push)\n";
    default: return "(empty aggregate type)\n";
    }
}

static void format_aggregate_tty(cli_str *out, const kv_reply *r, const char *prefix)
{
    if (r->elements == 0) {
        cli_str_cats(out, empty_name(r->type));
        return;
    }
    int is_map = r->type == KV_REPLY_MAP;
    size_t count = is_map ? r->elements / 2 : r->elements;
    unsigned idxlen = 0;
    size_t i = count;
    do {
        idxlen++;
        i /= 10;
    } while (i);
    /* Nested lines are indented by the index width plus ") ". */
    cli_str sub = {0};
    cli_str_cats(&sub, prefix);
    for (unsigned k = 0; k < idxlen + 2; k++)
        cli_str_cat(&sub, " ", 1);
    char sep = r->type == KV_REPLY_SET ? '~' : is_map ? '#' : ')';
    for (i = 0; i < r->elements; i++) {
        size_t human = (is_map ? i / 2 : i) + 1;
        /* The first line needs no prefix: the caller printed the index. */
        cli_str_printf(out, "%s%*zu%c ", i == 0 ? "" : prefix, (int)idxlen, human, sep);
        cli_format_tty(out, r->element[i], sub.p);
        if (is_map && i + 1 < r->elements) {
            i++;
            if (out->len > 0 && out->p[out->len - 1] == '\n')
                out->p[--out->len] = '\0';
            cli_str_cats(out, " => ");
            cli_format_tty(out, r->element[i], sub.p);
        }
    }
    cli_str_free(&sub);
}

void cli_format_tty(cli_str *out, const kv_reply *r, const char *prefix)
{
    switch (r->type) {
    case KV_REPLY_ERROR:
        cli_str_printf(out, "(error) %s\n", r->str);
        break;
    case KV_REPLY_STATUS:
        cli_str_cats(out, r->str);
        cli_str_cats(out, "\n");
        break;
    case KV_REPLY_INTEGER:
        cli_str_printf(out, "(integer) %lld\n", r->integer);
        break;
    case KV_REPLY_DOUBLE:
        cli_str_printf(out, "(double) %s\n", r->str);
        break;
    case KV_REPLY_BIGNUM:
        cli_str_printf(out, "(big number) %s\n", r->str);
        break;
    case KV_REPLY_STRING:
        cli_repr(out, r->str, r->len);
        cli_str_cats(out, "\n");
        break;
    case KV_REPLY_VERB:
        cli_str_cat(out, r->str, r->len);
        cli_str_cats(out, "\n");
        break;
    case KV_REPLY_NIL:
        cli_str_cats(out, "(nil)\n");
        break;
    case KV_REPLY_BOOL:
        cli_str_cats(out, r->integer ? "(true)\n" : "(false)\n");
        break;
    case KV_REPLY_ARRAY:
    case KV_REPLY_SET:
    case KV_REPLY_PUSH:
    case KV_REPLY_MAP:
    case KV_REPLY_ATTR:
        format_aggregate_tty(out, r, prefix);
        break;
    }
}

/* ---- Raw format ---- */

void cli_format_raw(cli_str *out, const kv_reply *r)
{
    switch (r->type) {
    case KV_REPLY_NIL:
        break;
    case KV_REPLY_ERROR:
        cli_str_cat(out, r->str, r->len);
        cli_str_cats(out, "\n");
        break;
    case KV_REPLY_STATUS:
    case KV_REPLY_STRING:
    case KV_REPLY_VERB:
    case KV_REPLY_BIGNUM:
        cli_str_cat(out, r->str, r->len);
        break;
    case KV_REPLY_BOOL:
        cli_str_cats(out, r->integer ? "(true)" : "(false)");
        break;
    case KV_REPLY_INTEGER:
        cli_str_printf(out, "%lld", r->integer);
        break;
    case KV_REPLY_DOUBLE:
        cli_str_cats(out, r->str);
        break;
    case KV_REPLY_ARRAY:
    case KV_REPLY_SET:
    case KV_REPLY_PUSH:
        for (size_t i = 0; i < r->elements; i++) {
            if (i > 0)
                cli_str_cats(out, "\n");
            cli_format_raw(out, r->element[i]);
        }
        break;
    case KV_REPLY_MAP:
    case KV_REPLY_ATTR:
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (i > 0)
                cli_str_cats(out, "\n");
            cli_format_raw(out, r->element[i]);
            cli_str_cats(out, " ");
            cli_format_raw(out, r->element[i + 1]);
        }
        break;
    }
}
