/* prom.h — the Prometheus text exposition format (version 0.0.4).
 *
 * Pure: metric families and samples into a kbuf, no sockets, no server
 * state (metrics.c collects the values and serves them). The rules it
 * keeps: a family is announced once with "# HELP" and "# TYPE" before its
 * samples, and all its samples follow it without another family in
 * between; metric names match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
 * [a-zA-Z_][a-zA-Z0-9_]* (anything else is a programming error: asserted,
 * and replaced by '_' in release builds); label values escape \ " and
 * newline, HELP text escapes \ and newline; floats are written so that
 * they read back exactly (+Inf, -Inf and NaN spelled as Prometheus does);
 * a histogram's buckets are cumulative, end with le="+Inf" equal to
 * _count, and are followed by _sum and _count. */
#ifndef KV_PROM_H
#define KV_PROM_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* A set of labels being built: name="value" pairs, escaped. */
typedef struct prom_labels {
    char buf[768];
    size_t len;
    int truncated; /* a label did not fit: it was left out */
} prom_labels;

void prom_labels_init(prom_labels *l);
void prom_label(prom_labels *l, const char *name, const char *value);

enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM, PROM_SUMMARY, PROM_UNTYPED };

/* "# HELP name help\n# TYPE name type\n". */
void prom_family(kbuf *b, const char *name, int type, const char *help);
/* "name{labels} value\n"; labels may be NULL. suffix (e.g. "_bucket") is
 * appended to name, NULL for none. */
void prom_sample(kbuf *b, const char *name, const char *suffix, const prom_labels *labels,
                 double v);
void prom_sample_u64(kbuf *b, const char *name, const char *suffix, const prom_labels *labels,
                     uint64_t v);
/* A family with a single unlabelled sample. */
void prom_gauge(kbuf *b, const char *name, const char *help, double v);
void prom_counter(kbuf *b, const char *name, const char *help, uint64_t v);
/* One histogram's samples (its family must have been announced): n upper
 * bounds (increasing), counts[0..n] per bucket, not cumulative (counts[n]
 * is above the last bound), and the sum of the observations. */
void prom_histogram(kbuf *b, const char *name, const prom_labels *labels, const double *bounds,
                    const uint64_t *counts, int n, double sum);

/* A float as the format writes it (shortest text that reads back exactly
 * for finite values). Returns the length. */
size_t prom_format_double(char *out, size_t len, double v);
/* Is name a valid metric name (label 0) or label name (label 1)? */
int prom_valid_name(const char *name, int label);

#endif
