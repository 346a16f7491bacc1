/* latency.c — per-command latency histograms (see latency.h).
 *
 * Layout (HdrHistogram, lowest discernible value 1, 2 significant
 * figures): sub_bucket_count = 256 (the power of two holding 2 * 10^2),
 * half = 128. Bucket b >= 0 holds the values whose highest bit, past the
 * sub-bucket range, puts them at a resolution of 2^b: value v lands in
 * bucket b = (64 - clz(v | 255)) - 8 and sub-bucket s = v >> b, at counter
 * ((b + 1) << 7) + (s - 128). Counter i holds the values from
 * lowest(i) = s << b to lowest(i) + 2^b - 1. 23 buckets cover 10^9. */
#include "latency.h"

#include <stdio.h>
#include <string.h>

#define SUB_COUNT 256
#define HALF_COUNT 128
#define HALF_MAG 7
#define SUB_MASK 255

static int bucket_of(int64_t v)
{
    return (64 - __builtin_clzll((uint64_t)(v | SUB_MASK))) - (HALF_MAG + 1);
}

int lat_index(int64_t v)
{
    int b = bucket_of(v);
    int s = (int)(v >> b);
    return ((b + 1) << HALF_MAG) + (s - HALF_COUNT);
}

/* The lowest value of counter i. */
static int64_t value_at_index(int i)
{
    int b = (i >> HALF_MAG) - 1;
    int s = (i & (HALF_COUNT - 1)) + HALF_COUNT;
    if (b < 0) {
        s -= HALF_COUNT;
        b = 0;
    }
    return (int64_t)s << b;
}

int64_t lat_lowest_equivalent(int64_t v)
{
    int b = bucket_of(v);
    return (v >> b) << b;
}

int64_t lat_highest_equivalent(int64_t v)
{
    int b = bucket_of(v);
    return lat_lowest_equivalent(v) + ((int64_t)1 << b) - 1;
}

void lat_record(lat_hist *h, int64_t ns)
{
    if (ns < LAT_MIN_NS)
        ns = LAT_MIN_NS;
    if (ns > LAT_MAX_NS)
        ns = LAT_MAX_NS;
    int i = lat_index(ns);
    if (i < 0 || i >= LAT_COUNTS)
        return;
    h->counts[i]++;
    h->total++;
}

int64_t lat_value_at_percentile(const lat_hist *h, double percentile)
{
    double p = percentile < 100.0 ? percentile : 100.0;
    int64_t want = (int64_t)((p / 100) * (double)h->total + 0.5);
    if (want < 1)
        want = 1;
    int64_t seen = 0;
    for (int i = 0; i < LAT_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= want)
            return percentile == 0.0 ? value_at_index(i)
                                     : lat_highest_equivalent(value_at_index(i));
    }
    return 0;
}

/* hdr_histogram's logarithmic iterator from 1024 ns, base 2: at each
 * reporting level it stops on the first counter whose value reaches the
 * level (that counter's calls included) and reports that counter's highest
 * equivalent value; it goes on while calls remain or the next counter's
 * value is past the level. Redis keeps only the points where the count
 * grew. */
int lat_cdf(const lat_hist *h, lat_point *out, int max)
{
    int n = 0, idx = -1;
    int64_t cum = 0, value = 0, prev = 0;
    int64_t level = 1024, level_low = lat_lowest_equivalent(level);
    for (;;) {
        int more = cum < h->total ||
                   (idx < LAT_COUNTS && value_at_index(idx + 1) > level_low);
        if (!more)
            break;
        for (;;) {
            if (idx >= 0 && value >= level_low) {
                level *= 2;
                level_low = lat_lowest_equivalent(level);
                break;
            }
            if (idx + 1 >= LAT_COUNTS) {
                idx = LAT_COUNTS; /* past the end: report as it stands */
                break;
            }
            idx++;
            cum += h->counts[idx];
            value = value_at_index(idx);
        }
        if (cum > prev) {
            if (n < max) {
                out[n].usec = lat_highest_equivalent(value) / 1000;
                out[n].cumulative = cum;
            }
            n++;
        }
        prev = cum;
        if (idx >= LAT_COUNTS)
            break;
    }
    return n;
}

void lat_format_percentile(char *out, size_t len, double p)
{
    snprintf(out, len, "%f", p);
    if (strchr(out, '.')) {
        size_t l = strlen(out);
        while (l > 0 && out[l - 1] == '0')
            out[--l] = '\0';
        if (l > 0 && out[l - 1] == '.')
            out[--l] = '\0';
    }
}
