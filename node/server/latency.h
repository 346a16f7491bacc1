/* latency.h — per-command latency histograms, as Redis 7 keeps them for
 * INFO latencystats and LATENCY HISTOGRAM.
 *
 * The histogram is HdrHistogram's bucket layout with Redis's settings:
 * values in nanoseconds from 1 to 10^9 (clamped to that range), two
 * significant figures (256 sub-buckets, 23 buckets: 3072 counters, 24 KiB
 * per command, allocated on a command's first call). Percentiles and the
 * cumulative distribution are computed as hdr_histogram does, so the
 * figures read exactly like redis-server's: p50=40.191 (the highest value
 * equivalent to the recorded ones, in µs), histogram_usec keys at powers
 * of two from 1024 ns. Pure: no server state. */
#ifndef KV_LATENCY_H
#define KV_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define LAT_MIN_NS 1
#define LAT_MAX_NS 1000000000LL
#define LAT_COUNTS 3072

typedef struct lat_hist {
    int64_t total;
    int64_t counts[LAT_COUNTS];
} lat_hist;

/* Record one duration (ns, clamped to LAT_MIN_NS..LAT_MAX_NS). */
void lat_record(lat_hist *h, int64_t ns);
/* The value at a percentile (0..100), in ns: the highest value equivalent
 * to the first recorded value at or past it (the lowest one for p0, as
 * Redis 7.0 reports "p0"); 0 when empty. */
int64_t lat_value_at_percentile(const lat_hist *h, double percentile);

/* The cumulative distribution LATENCY HISTOGRAM replies: (µs, calls up to
 * it) pairs at the powers of two from 1024 ns, only where the count grew.
 * Writes at most max pairs; returns how many there are. */
typedef struct lat_point {
    int64_t usec;
    int64_t cumulative;
} lat_point;
int lat_cdf(const lat_hist *h, lat_point *out, int max);

/* Index of a value's counter and the lowest/highest value equivalent to it
 * (exposed for tests). */
int lat_index(int64_t ns);
int64_t lat_lowest_equivalent(int64_t ns);
int64_t lat_highest_equivalent(int64_t ns);

/* "50 99 99.9" as Redis formats a percentile ("%f" trimmed). */
void lat_format_percentile(char *out, size_t len, double p);

#endif
