/* prom.c — the Prometheus text exposition format (see prom.h). */
#include "prom.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prom_valid_name(const char *name, int label)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (!label && c == ':');
        int digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && p != name))
            return 0;
    }
    /* Names starting with __ are reserved for Prometheus's own labels. */
    return !(label && name[0] == '_' && name[1] == '_');
}

/* Append a name, with invalid characters replaced (never in a correct
 * program: asserted in debug builds). */
static void put_name(kbuf *b, const char *name, int label)
{
#ifdef KV_ASSERTS
    assert(prom_valid_name(name, label));
#endif
    if (prom_valid_name(name, label)) {
        kbuf_append_str(b, name);
        return;
    }
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (c >= '0' && c <= '9' && p != name) || (!label && c == ':');
        kbuf_putc(b, ok ? c : '_');
    }
    if (!*name)
        kbuf_putc(b, '_');
}

void prom_labels_init(prom_labels *l)
{
    l->len = 0;
    l->buf[0] = '\0';
    l->truncated = 0;
}

void prom_label(prom_labels *l, const char *name, const char *value)
{
    kbuf t = KBUF_INIT;
    if (l->len)
        kbuf_putc(&t, ',');
    put_name(&t, name, 1);
    kbuf_append_str(&t, "=\"");
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            kbuf_append_str(&t, "\\\\");
        else if (*p == '"')
            kbuf_append_str(&t, "\\\"");
        else if (*p == '\n')
            kbuf_append_str(&t, "\\n");
        else
            kbuf_putc(&t, *p);
    }
    kbuf_putc(&t, '"');
    if (l->len + kbuf_len(&t) < sizeof l->buf) {
        memcpy(l->buf + l->len, kbuf_data(&t), kbuf_len(&t));
        l->len += kbuf_len(&t);
        l->buf[l->len] = '\0';
    } else {
        l->truncated = 1;
    }
    kbuf_free(&t);
}

static const char *const type_names[] = {"counter", "gauge", "histogram", "summary", "untyped"};

void prom_family(kbuf *b, const char *name, int type, const char *help)
{
    kbuf_append_str(b, "# HELP ");
    put_name(b, name, 0);
    kbuf_putc(b, ' ');
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            kbuf_append_str(b, "\\\\");
        else if (*p == '\n')
            kbuf_append_str(b, "\\n");
        else
            kbuf_putc(b, *p);
    }
    kbuf_append_str(b, "\n# TYPE ");
    put_name(b, name, 0);
    kbuf_putc(b, ' ');
    kbuf_append_str(b, type >= 0 && type <= PROM_UNTYPED ? type_names[type] : "untyped");
    kbuf_putc(b, '\n');
}

size_t prom_format_double(char *out, size_t len, double v)
{
    int n;
    if (isnan(v))
        n = snprintf(out, len, "NaN");
    else if (isinf(v))
        n = snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        n = snprintf(out, len, "%lld", (long long)v);
    else {
        /* The shortest %g that reads back exactly. */
        n = 0;
        for (int prec = 6; prec <= 17; prec++) {
            n = snprintf(out, len, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
    if (n < 0)
        n = 0;
    return (size_t)n < len ? (size_t)n : len ? len - 1 : 0;
}

static void sample_head(kbuf *b, const char *name, const char *suffix, const prom_labels *labels)
{
    put_name(b, name, 0);
    if (suffix)
        kbuf_append_str(b, suffix);
    if (labels && labels->len) {
        kbuf_putc(b, '{');
        kbuf_append(b, labels->buf, labels->len);
        kbuf_putc(b, '}');
    }
    kbuf_putc(b, ' ');
}

void prom_sample(kbuf *b, const char *name, const char *suffix, const prom_labels *labels,
                 double v)
{
    char num[64];
    sample_head(b, name, suffix, labels);
    kbuf_append(b, num, prom_format_double(num, sizeof num, v));
    kbuf_putc(b, '\n');
}

void prom_sample_u64(kbuf *b, const char *name, const char *suffix, const prom_labels *labels,
                     uint64_t v)
{
    sample_head(b, name, suffix, labels);
    kbuf_append_u64(b, v);
    kbuf_putc(b, '\n');
}

void prom_gauge(kbuf *b, const char *name, const char *help, double v)
{
    prom_family(b, name, PROM_GAUGE, help);
    prom_sample(b, name, NULL, NULL, v);
}

void prom_counter(kbuf *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, PROM_COUNTER, help);
    prom_sample_u64(b, name, NULL, NULL, v);
}

void prom_histogram(kbuf *b, const char *name, const prom_labels *labels, const double *bounds,
                    const uint64_t *counts, int n, double sum)
{
    uint64_t cum = 0;
    char le[64];
    for (int i = 0; i <= n; i++) {
        cum += counts[i];
        prom_labels l;
        if (labels)
            l = *labels;
        else
            prom_labels_init(&l);
        if (i < n)
            prom_format_double(le, sizeof le, bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        prom_label(&l, "le", le);
        prom_sample_u64(b, name, "_bucket", &l, cum);
    }
    prom_sample(b, name, "_sum", labels, sum);
    prom_sample_u64(b, name, "_count", labels, cum);
}
