/* check.c — the offline checker of a data directory (see check.h).
 *
 * It reads with recovery's own code: wal_list_segments and
 * wal_scan_segment for the log (the walk that decides clean end, torn tail
 * or corruption) and snap_list/snap_verify for snapshots, and it judges
 * what it finds by recovery's rules (wal_open, snap_load_latest): only the
 * last segment may end in a torn tail, which kvnode cuts itself; anything
 * else in the log makes kvnode refuse to start; a damaged snapshot is set
 * aside at start and the next older one is used; the log must reach back to
 * the snapshot that is loaded.
 *
 * The first damage of the log is the first point, in LSN order, where the
 * log stops being one contiguous run of valid records: a bad record or
 * header, a record with the wrong LSN or a term going back, or a gap (a
 * missing segment). --repair keeps everything before it. */
#include "check.h"

#include "err.h"
#include "fsio.h"
#include "snapshot.h"
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* What was found                                                            */
/* ------------------------------------------------------------------------ */

typedef struct seg_rep {
    uint64_t first;   /* from the file name */
    wal_seg_scan ss;
    int gap_before;   /* 1: LSNs are missing before it; -1: it overlaps */
    uint64_t expect;  /* the LSN it should have started at (gap_before) */
    int bad;          /* damaged inside (header or records) */
    uint64_t cut_off; /* bad: keep the bytes before this (0: nothing usable) */
} seg_rep;

typedef struct snap_rep {
    uint64_t lsn; /* from the file name */
    int ok;
    snap_meta m;
    int header_ok; /* m.lsn/m.term come from a readable header */
    char why[600];
} snap_rep;

typedef struct report {
    const char *dir;
    FILE *out;
    snap_rep *snaps; /* newest first */
    int nsnaps;
    int good;        /* index of the newest snapshot that verifies, or -1 */
    seg_rep *segs;   /* in LSN order */
    size_t nsegs;
    int problems;
    int unreadable;
    char unreadable_why[600];
    /* the first damage of the log, in LSN order */
    int damaged;
    char dwhat[400];
    int only_torn_tail; /* it is the log's only damage: a torn tail of the last segment */
    /* what --repair does to the log (see plan_repair) */
    size_t drop_prefix; /* set aside segments [0, drop_prefix): damaged, but
                           all their LSNs are in the snapshot */
    int cut;            /* the usable log has damage: */
    size_t cut_seg;     /* in this segment, */
    uint64_t cut_off;   /* cut it here (0: set it aside whole) */
    uint64_t keep_lsn;  /* and keep LSNs up to this one */
    int uncovered;      /* the log does not reach back to the snapshot */
    uint64_t missing_from, missing_to;
    uint64_t term_at_snap; /* term of the log's record at the good snapshot's LSN */
} report;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void seg_file(char *out, size_t n, const report *r, size_t i)
{
    wal_seg_path(out, n, r->dir, r->segs[i].first);
}

/* "term 3" or "terms 1..3" */
static void term_range(char *out, size_t n, uint64_t lo, uint64_t hi)
{
    if (lo == hi)
        snprintf(out, n, "term %" PRIu64, lo);
    else
        snprintf(out, n, "terms %" PRIu64 "..%" PRIu64, lo, hi);
}

static void problem(report *r)
{
    r->problems++;
}

/* Remember the first damage of the log (later calls are ignored). */
static void first_damage(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void first_damage(report *r, const char *fmt, ...)
{
    if (r->damaged)
        return;
    r->damaged = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->dwhat, sizeof r->dwhat, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* The LOCK                                                                  */
/* ------------------------------------------------------------------------ */

/* Is the directory's LOCK held by another process? With take, keep it
 * locked on *fd (creating LOCK if need be). 0 free, 1 held (pid in pid),
 * or -errno. */
static int probe_lock(const char *dir, int take, int *fd, char *pid, size_t pidlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    pid[0] = '\0';
    int lfd = open(path, take ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0644);
    if (lfd < 0)
        return errno == ENOENT && !take ? 0 : -errno;
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        ssize_t n = pread(lfd, pid, pidlen - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(lfd);
        return e == EWOULDBLOCK ? 1 : -e;
    }
    if (take) {
        *fd = lfd;
    } else {
        flock(lfd, LOCK_UN);
        close(lfd);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

static void check_snapshots(report *r)
{
    uint64_t *lsns = NULL;
    int n = snap_list(r->dir, &lsns);
    r->good = -1;
    if (n < 0) {
        r->unreadable = 1;
        snprintf(r->unreadable_why, sizeof r->unreadable_why, "cannot list %s", r->dir);
        return;
    }
    r->snaps = calloc((size_t)n + 1, sizeof *r->snaps);
    r->nsnaps = n;
    fprintf(r->out, "snapshots: %d\n", n);
    for (int i = 0; i < n; i++) {
        snap_rep *s = &r->snaps[i];
        char path[PATH_MAX], why[600];
        snap_path(path, sizeof path, r->dir, lsns[i]);
        s->lsn = lsns[i];
        int rc = snap_verify(path, &s->m, why, sizeof why);
        if (rc == 0 && s->m.lsn != s->lsn) {
            rc = KVE_CORRUPT;
            snprintf(why, sizeof why, "%s: the header says LSN %" PRIu64 ", the name %" PRIu64, path,
                     s->m.lsn, s->lsn);
        }
        /* Messages start with the path: the report names the file once. */
        const char *w = strncmp(why, path, strlen(path)) == 0 ? why + strlen(path) : why;
        w += strspn(w, ": ");
        if (rc == 0) {
            s->ok = 1;
            s->header_ok = 1;
            if (r->good < 0)
                r->good = i;
            fprintf(r->out,
                    "  %s: LSN %" PRIu64 ", term %" PRIu64 ", %" PRIu64 " keys, %" PRIu64
                    " blocks, %" PRIu64 " bytes: verified\n",
                    base_name(path), s->m.lsn, s->m.term, s->m.keys, s->m.blocks, s->m.bytes);
            continue;
        }
        snprintf(s->why, sizeof s->why, "%s", w);
        if (rc == KVE_IO || rc == KVE_NOTFOUND) {
            r->unreadable = 1;
            snprintf(r->unreadable_why, sizeof r->unreadable_why, "%s", why);
            fprintf(r->out, "  %s: CANNOT READ: %s\n", base_name(path), w);
            continue;
        }
        problem(r);
        char hdr[128] = "";
        char herr[256];
        if (snap_read_header(path, &s->m, herr, sizeof herr) == 0) {
            s->header_ok = 1;
            snprintf(hdr, sizeof hdr, "header: LSN %" PRIu64 ", term %" PRIu64 ", %" PRIu64 " bytes; ",
                     s->m.lsn, s->m.term, s->m.bytes);
        }
        fprintf(r->out, "  %s: DAMAGED: %s%s\n", base_name(path), hdr, w);
    }
    free(lsns);
}

/* ------------------------------------------------------------------------ */
/* The log                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct term_probe {
    uint64_t lsn, term;
} term_probe;

static int probe_term(void *arg, const wal_record *rec, uint64_t off)
{
    (void)off;
    term_probe *t = arg;
    if (rec->lsn == t->lsn)
        t->term = rec->term;
    return 0;
}

static void print_segment(report *r, size_t i)
{
    const seg_rep *sr = &r->segs[i];
    const wal_seg_scan *ss = &sr->ss;
    int last = i + 1 == r->nsegs;
    char path[PATH_MAX], terms[64];
    seg_file(path, sizeof path, r, i);
    FILE *out = r->out;
    fprintf(out, "  %s: ", base_name(path));
    if (ss->records) {
        term_range(terms, sizeof terms, ss->min_term, ss->max_term);
        fprintf(out, "LSN %" PRIu64 "..%" PRIu64 ", %s, %" PRIu64 " record%s, %" PRIu64 " bytes: ",
                sr->first, ss->last_lsn, terms, ss->records, ss->records == 1 ? "" : "s",
                ss->end_off - WAL_SEG_HDR);
    } else {
        fprintf(out, "starts at LSN %" PRIu64 ", no records: ", sr->first);
    }
    uint64_t expect = ss->last_lsn + 1;
    switch (ss->end) {
    case WAL_SEG_CLEAN:
        fprintf(out, "ok\n");
        break;
    case WAL_SEG_EMPTY:
        if (last)
            fprintf(out, "no header yet (created just before the process stopped): fine\n");
        else
            fprintf(out, "DAMAGED: offset 0: empty (all zeros) but not the last segment\n");
        break;
    case WAL_SEG_NO_HEADER:
        fprintf(out, "DAMAGED: offset 0: missing segment header (%" PRIu64 " bytes)\n", ss->size);
        break;
    case WAL_SEG_BAD_HEADER:
        fprintf(out, "DAMAGED: offset 0: bad segment header (magic, version, CRC or LSN)\n");
        break;
    case WAL_SEG_TORN:
        fprintf(out, "DAMAGED: torn tail at offset %" PRIu64 " (%" PRIu64 " bytes: %s)%s\n",
                ss->end_off, ss->bad_bytes, ss->why, last ? "" : " in a segment that is not the last");
        break;
    case WAL_SEG_CORRUPT:
        fprintf(out,
                "DAMAGED: invalid record at offset %" PRIu64 " (%s; LSN %" PRIu64
                " expected) followed by a valid record at offset %" PRIu64 " (LSN %" PRIu64 ")\n",
                ss->end_off, ss->why, expect, ss->next_off, ss->found_lsn);
        break;
    case WAL_SEG_WRONG_LSN:
        fprintf(out, "DAMAGED: offset %" PRIu64 ": record has LSN %" PRIu64 ", expected %" PRIu64 "\n",
                ss->end_off, ss->found_lsn, expect);
        break;
    case WAL_SEG_TERM_BACK:
        fprintf(out,
                "DAMAGED: offset %" PRIu64 ": LSN %" PRIu64 " has term %" PRIu64
                ", lower than the term %" PRIu64 " before it\n",
                ss->end_off, ss->found_lsn, ss->found_term, ss->last_term);
        break;
    }
}

/* Judge segment i (already scanned) by recovery's rules. */
static void judge_segment(report *r, size_t i)
{
    seg_rep *sr = &r->segs[i];
    const wal_seg_scan *ss = &sr->ss;
    int last = i + 1 == r->nsegs;
    char path[PATH_MAX];
    seg_file(path, sizeof path, r, i);
    const char *name = base_name(path);
    if (sr->gap_before) {
        problem(r);
        first_damage(r, "%s: starts at LSN %" PRIu64 " but LSN %" PRIu64 " was expected", name,
                     sr->first, sr->expect);
    }
    switch (ss->end) {
    case WAL_SEG_CLEAN:
        return;
    case WAL_SEG_EMPTY:
        if (last)
            return;
        /* fall through */
    case WAL_SEG_NO_HEADER:
    case WAL_SEG_BAD_HEADER:
        problem(r);
        sr->bad = 1;
        sr->cut_off = 0;
        first_damage(r, "%s: offset 0: %s", name, wal_seg_end_name(ss->end));
        return;
    case WAL_SEG_TORN:
        if (!r->damaged && last && !sr->gap_before)
            r->only_torn_tail = 1;
        break;
    case WAL_SEG_CORRUPT:
    case WAL_SEG_WRONG_LSN:
    case WAL_SEG_TERM_BACK:
        break;
    }
    problem(r);
    sr->bad = 1;
    sr->cut_off = ss->end_off;
    first_damage(r, "%s: offset %" PRIu64 ": %s (after LSN %" PRIu64 ")", name, ss->end_off,
                 wal_seg_end_name(ss->end), ss->last_lsn);
}

static void check_log(report *r)
{
    uint64_t *firsts = NULL;
    size_t n = 0;
    char err[600];
    if (wal_list_segments(r->dir, &firsts, &n, err, sizeof err)) {
        r->unreadable = 1;
        snprintf(r->unreadable_why, sizeof r->unreadable_why, "%s", err);
        return;
    }
    r->segs = calloc(n + 1, sizeof *r->segs);
    r->nsegs = n;
    fprintf(r->out, "WAL segments: %zu\n", n);
    term_probe tp = {r->good >= 0 ? r->snaps[r->good].lsn : 0, 0};
    uint64_t prev_term = 0, expect = 0;
    for (size_t i = 0; i < n; i++) {
        seg_rep *sr = &r->segs[i];
        sr->first = firsts[i];
        if (expect && sr->first != expect) {
            sr->gap_before = sr->first > expect ? 1 : -1;
            sr->expect = expect;
            char a[PATH_MAX], b[PATH_MAX];
            seg_file(a, sizeof a, r, i - 1);
            seg_file(b, sizeof b, r, i);
            if (sr->gap_before > 0)
                fprintf(r->out,
                        "  gap: LSNs %" PRIu64 "..%" PRIu64 " are in no segment (a segment is "
                        "missing between %s and %s)\n",
                        expect, sr->first - 1, base_name(a), base_name(b));
            else
                fprintf(r->out,
                        "  overlap: %s starts at LSN %" PRIu64 " but %s already holds LSNs up to "
                        "%" PRIu64 "\n",
                        base_name(b), sr->first, base_name(a), expect - 1);
        }
        char path[PATH_MAX];
        seg_file(path, sizeof path, r, i);
        if (wal_scan_segment(path, sr->first, prev_term, probe_term, &tp, &sr->ss, err,
                             sizeof err)) {
            r->unreadable = 1;
            snprintf(r->unreadable_why, sizeof r->unreadable_why, "%s", err);
            fprintf(r->out, "  %s: CANNOT READ: %s\n", base_name(path), err);
            expect = 0;
            continue;
        }
        print_segment(r, i);
        judge_segment(r, i);
        /* After a damaged segment the next one has no expected start. */
        expect = sr->ss.end == WAL_SEG_CLEAN ? sr->ss.last_lsn + 1 : 0;
        if (sr->ss.end == WAL_SEG_EMPTY)
            expect = 0;
        prev_term = sr->ss.last_term;
    }
    r->term_at_snap = tp.term;
    free(firsts);
}

/* ------------------------------------------------------------------------ */
/* Coverage and verdict                                                      */
/* ------------------------------------------------------------------------ */

/* Plan what --repair does to the log. The log recovery needs starts at
 * the segment holding the LSN after the newest good snapshot (S + 1), and
 * must run from the first segment on disk without a break:
 *   - damage in segments whose LSNs are all in the snapshot (and gaps
 *     between them) is dropped with the segments before it: those are kept
 *     only for lagging replicas, and the snapshot has their records;
 *   - the first damage from S + 1 on cuts the log there: the damaged
 *     segment is truncated at the damage (or set aside whole when nothing
 *     in it is usable) and every later segment is set aside.
 * If the first segment starts after S + 1, no repair can bring the missing
 * LSNs back (uncovered). */
static void plan_repair(report *r, uint64_t s_lsn)
{
    if (!r->nsegs)
        return;
    if (r->segs[0].first > s_lsn + 1) {
        r->uncovered = 1;
        r->missing_from = s_lsn + 1;
        r->missing_to = r->segs[0].first - 1;
        return;
    }
    size_t j = 0; /* the segment that holds S + 1 (or the last before it) */
    for (size_t i = 0; i < r->nsegs; i++)
        if (r->segs[i].first <= s_lsn + 1)
            j = i;
    size_t drop = 0;
    for (size_t i = 0; i < j; i++)
        if (r->segs[i].bad)
            drop = i + 1;
    for (size_t i = 1; i <= j; i++)
        if (r->segs[i].gap_before && drop < i)
            drop = i;
    r->drop_prefix = drop;
    for (size_t i = j; i < r->nsegs; i++) {
        const seg_rep *sr = &r->segs[i];
        if (i > j && sr->gap_before) {
            r->cut = 1;
            r->cut_seg = i;
            r->cut_off = 0;
            r->keep_lsn = r->segs[i - 1].ss.last_lsn;
            return;
        }
        if (sr->bad) {
            r->cut = 1;
            r->cut_seg = i;
            r->cut_off = sr->cut_off;
            r->keep_lsn = sr->cut_off ? sr->ss.last_lsn : sr->first - 1;
            return;
        }
    }
}

/* The last LSN of the log recovery uses (after a repair, if one is due). */
static uint64_t log_end(const report *r)
{
    if (r->cut)
        return r->keep_lsn;
    return r->nsegs ? r->segs[r->nsegs - 1].ss.last_lsn : 0;
}

static void check_coverage(report *r)
{
    FILE *out = r->out;
    uint64_t s_lsn = r->good >= 0 ? r->snaps[r->good].m.lsn : 0;
    uint64_t s_term = r->good >= 0 ? r->snaps[r->good].m.term : 0;
    if (r->good >= 0)
        fprintf(out, "newest good snapshot: LSN %" PRIu64 ", term %" PRIu64 "\n", s_lsn, s_term);
    else
        fprintf(out, "newest good snapshot: none%s\n",
                r->nsnaps ? " (every snapshot is damaged)" : "");
    for (int i = 0; i < r->good; i++)
        fprintf(out,
                "  (at start kvnode sets aside the damaged newer snapshot snap-%020" PRIu64
                ".snap and loads LSN %" PRIu64 ")\n",
                r->snaps[i].lsn, s_lsn);
    plan_repair(r, s_lsn);
    if (!r->nsegs) {
        fprintf(out, "WAL coverage: no segments; kvnode starts %s\n",
                s_lsn ? "from the snapshot alone" : "empty");
        return;
    }
    if (r->uncovered) {
        problem(r);
        if (s_lsn)
            fprintf(out,
                    "WAL coverage: DAMAGED: the WAL starts at LSN %" PRIu64
                    " but the newest good snapshot ends at LSN %" PRIu64 ": LSNs %" PRIu64
                    "..%" PRIu64 " are in no file\n",
                    r->segs[0].first, s_lsn, r->missing_from, r->missing_to);
        else
            fprintf(out,
                    "WAL coverage: DAMAGED: the WAL starts at LSN %" PRIu64
                    " and no snapshot verifies: LSNs 1..%" PRIu64 " are in no file\n",
                    r->segs[0].first, r->missing_to);
        return;
    }
    uint64_t first = r->segs[r->drop_prefix].first;
    uint64_t end = log_end(r);
    if (s_lsn)
        fprintf(out,
                "WAL coverage: the WAL reaches back to the newest good snapshot (the log from "
                "LSN %" PRIu64 " is usable up to LSN %" PRIu64 "): replay from LSN %" PRIu64 "\n",
                first, end, s_lsn + 1);
    else
        fprintf(out,
                "WAL coverage: no snapshot; the WAL starts at LSN %" PRIu64
                " and is usable up to LSN %" PRIu64 "\n",
                first, end);
    if (s_lsn && end < s_lsn)
        fprintf(out,
                "  (the usable log ends at LSN %" PRIu64 ", before the snapshot: kvnode removes "
                "its segments at start, the snapshot covers them)\n",
                end);
    if (s_lsn && r->term_at_snap && r->term_at_snap != s_term)
        fprintf(out,
                "  (the WAL has term %" PRIu64 " at LSN %" PRIu64 " where the snapshot has term "
                "%" PRIu64 ": the snapshot came from another primary; kvnode keeps the segments "
                "as *.superseded and restarts the log after it)\n",
                r->term_at_snap, s_lsn, s_term);
}

/* Append to a bounded string. */
static void say(char *out, size_t n, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(char *out, size_t n, size_t *used, const char *fmt, ...)
{
    if (*used >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *used, n - *used, fmt, ap);
    va_end(ap);
    if (k > 0)
        *used += (size_t)k;
}

/* What --repair would change, in words. */
static void describe_repair(const report *r, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    if (r->drop_prefix)
        say(out, n, &used, "set aside the %zu oldest segment%s (damaged or cut off, and every "
                           "LSN in them is in the snapshot)",
            r->drop_prefix, r->drop_prefix == 1 ? "" : "s");
    if (r->cut) {
        char path[PATH_MAX];
        seg_file(path, sizeof path, r, r->cut_seg);
        size_t later = r->nsegs - r->cut_seg - 1;
        say(out, n, &used, "%skeep LSNs up to %" PRIu64 ": ", used ? "; " : "", r->keep_lsn);
        if (r->cut_off)
            say(out, n, &used, "cut %s at offset %" PRIu64, base_name(path), r->cut_off);
        else
            say(out, n, &used, "set aside %s", base_name(path));
        if (later)
            say(out, n, &used, " and set aside %zu later segment%s", later, later == 1 ? "" : "s");
    }
    int bad = 0;
    for (int i = 0; i < r->nsnaps; i++)
        bad += !r->snaps[i].ok;
    if (bad)
        say(out, n, &used, "%sset aside %d damaged snapshot%s", used ? "; " : "", bad,
            bad == 1 ? "" : "s");
    if (r->uncovered)
        say(out, n, &used,
            "%snot bring back LSNs %" PRIu64 "..%" PRIu64 " (no file has them)",
            used ? "; but it can " : "", r->missing_from, r->missing_to);
}

static int verdict(report *r)
{
    FILE *out = r->out;
    if (r->unreadable) {
        fprintf(out, "verdict: CANNOT READ: %s\n", r->unreadable_why);
        return CHECK_UNREADABLE;
    }
    uint64_t last = 0, first = r->nsegs ? r->segs[0].first : 0;
    for (size_t i = 0; i < r->nsegs; i++)
        if (r->segs[i].ss.last_lsn > last)
            last = r->segs[i].ss.last_lsn;
    if (!r->problems) {
        fprintf(out, "verdict: clean: %zu WAL segment%s", r->nsegs, r->nsegs == 1 ? "" : "s");
        if (r->nsegs && last >= first)
            fprintf(out, " (LSN %" PRIu64 "..%" PRIu64 ")", first, last);
        fprintf(out, ", %d snapshot%s\n", r->nsnaps, r->nsnaps == 1 ? "" : "s");
        return CHECK_CLEAN;
    }
    if (r->damaged)
        fprintf(out, "first damage: %s\n", r->dwhat);
    const char *start;
    if (r->uncovered || (r->damaged && !r->only_torn_tail))
        start = "kvnode refuses to start on this directory";
    else if (r->damaged)
        start = "kvnode cuts this torn tail itself at start (keeping a copy)";
    else
        start = "kvnode starts (setting the damaged snapshots aside)";
    char fix[900];
    describe_repair(r, fix, sizeof fix);
    fprintf(out, "verdict: DAMAGED: %d problem%s; %s; --repair would %s\n", r->problems,
            r->problems == 1 ? "" : "s", start, fix);
    return CHECK_DAMAGED;
}

static void free_report(report *r)
{
    free(r->snaps);
    free(r->segs);
}

static int check(report *r)
{
    check_snapshots(r);
    if (!r->unreadable)
        check_log(r);
    if (!r->unreadable)
        check_coverage(r);
    return verdict(r);
}

/* ------------------------------------------------------------------------ */
/* Repair                                                                    */
/* ------------------------------------------------------------------------ */

/* A name for a copy of path that does not exist yet: "<path>.broken", else
 * "<path>.broken-<UTC time>", else with "-<n>" after it. */
static int aside_name(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s.broken", path);
    if (access(out, F_OK) != 0 && errno == ENOENT)
        return 0;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0; i < 1000; i++) {
        if (i)
            snprintf(out, n, "%s.broken-%s-%d", path, stamp, i);
        else
            snprintf(out, n, "%s.broken-%s", path, stamp);
        if (access(out, F_OK) != 0 && errno == ENOENT)
            return 0;
    }
    return -EEXIST;
}

/* Move a file aside under a fresh name (never over an existing file). */
static int set_aside(report *r, const char *path)
{
    char to[PATH_MAX + 64];
    int rc = aside_name(path, to, sizeof to);
    if (!rc && kvfs->rename(path, to) < 0)
        rc = -errno;
    if (rc) {
        fprintf(r->out, "repair: FAILED to move %s aside: %s\n", path, strerror(-rc));
        return rc;
    }
    fprintf(r->out, "repair: moved %s to %s\n", path, base_name(to));
    return 0;
}

/* Copy segment r->cut_seg aside, then cut it at r->cut_off and fsync it. */
static int cut_segment(report *r, const char *path)
{
    char copy[PATH_MAX + 64];
    int rc = aside_name(path, copy, sizeof copy);
    if (!rc)
        rc = kvfs_copy_file_new(path, copy);
    if (rc) {
        fprintf(r->out, "repair: FAILED to copy %s aside: %s\n", path, strerror(-rc));
        return rc;
    }
    fprintf(r->out, "repair: copied %s to %s\n", path, base_name(copy));
    int fd = kvfs->open(path, O_WRONLY, 0);
    rc = fd < 0 ? -errno : 0;
    if (!rc && kvfs->ftruncate(fd, (off_t)r->cut_off) < 0)
        rc = -errno;
    if (!rc && kvfs->fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        kvfs->close(fd);
    if (rc) {
        fprintf(r->out, "repair: FAILED to truncate %s: %s\n", path, strerror(-rc));
        return rc;
    }
    fprintf(r->out,
            "repair: truncated %s at offset %" PRIu64 " (was %" PRIu64 " bytes): it ends at LSN "
            "%" PRIu64 "\n",
            path, r->cut_off, r->segs[r->cut_seg].ss.size, r->keep_lsn);
    return 0;
}

static int repair(report *r)
{
    int rc = 0, changed = 0;
    char path[PATH_MAX];
    for (int i = 0; i < r->nsnaps && !rc; i++) {
        if (r->snaps[i].ok)
            continue;
        snap_path(path, sizeof path, r->dir, r->snaps[i].lsn);
        rc = set_aside(r, path);
        changed = 1;
    }
    for (size_t i = 0; i < r->drop_prefix && !rc; i++) {
        seg_file(path, sizeof path, r, i);
        rc = set_aside(r, path);
        changed = 1;
    }
    if (r->cut && !rc) {
        seg_file(path, sizeof path, r, r->cut_seg);
        rc = r->cut_off ? cut_segment(r, path) : set_aside(r, path);
        changed = 1;
        for (size_t i = r->cut_seg + 1; i < r->nsegs && !rc; i++) {
            seg_file(path, sizeof path, r, i);
            rc = set_aside(r, path);
        }
    }
    if (changed) {
        int drc = kvfs_fsync_dir(r->dir);
        if (drc < 0) {
            fprintf(r->out, "repair: FAILED to fsync %s: %s\n", r->dir, strerror(-drc));
            rc = rc ? rc : drc;
        } else {
            fprintf(r->out, "repair: fsynced %s\n", r->dir);
        }
    }
    if (r->uncovered)
        fprintf(r->out, "repair: LSNs %" PRIu64 "..%" PRIu64 " are in no file: not repairable\n",
                r->missing_from, r->missing_to);
    if (!changed && !r->uncovered)
        fprintf(r->out, "repair: nothing to change\n");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

int store_check_data(const char *dir, int do_repair, FILE *out)
{
    if (strlen(dir) > PATH_MAX - 100) {
        fprintf(out, "verdict: CANNOT READ: the path is too long\n");
        return CHECK_UNREADABLE;
    }
    struct stat st;
    if (stat(dir, &st) < 0) {
        fprintf(out, "verdict: CANNOT READ: %s: %s\n", dir, strerror(errno));
        return CHECK_UNREADABLE;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(out, "verdict: CANNOT READ: %s is not a directory\n", dir);
        return CHECK_UNREADABLE;
    }
    fprintf(out, "checking %s%s\n", dir, do_repair ? " (repair)" : " (read only)");
    char pid[32];
    int lock_fd = -1;
    int held = probe_lock(dir, do_repair, &lock_fd, pid, sizeof pid);
    if (held < 0) {
        fprintf(out, "verdict: CANNOT READ: %s/LOCK: %s\n", dir, strerror(-held));
        return CHECK_UNREADABLE;
    }
    if (held) {
        fprintf(out, "LOCK: held by %s%s: a kvnode is running on this directory\n",
                pid[0] ? "pid " : "another process", pid);
        if (do_repair) {
            fprintf(out, "verdict: CANNOT REPAIR: the directory is in use; stop that process "
                         "first\n");
            return CHECK_UNREADABLE;
        }
        fprintf(out, "  (its last segment is being written: what looks like a torn tail there "
                     "may be a write in progress)\n");
    } else {
        fprintf(out, "LOCK: %s\n", do_repair ? "taken for the repair" : "free");
    }
    report r = {.dir = dir, .out = out};
    int status = check(&r);
    if (do_repair && status == CHECK_DAMAGED) {
        int rc = repair(&r);
        free_report(&r);
        if (rc) {
            fprintf(out, "verdict: REPAIR FAILED (see above; every change made is listed)\n");
            status = CHECK_UNREADABLE;
        } else {
            fprintf(out, "--- after repair ---\n");
            report again = {.dir = dir, .out = out};
            status = check(&again);
            free_report(&again);
        }
    } else {
        if (do_repair && status == CHECK_CLEAN)
            fprintf(out, "repair: nothing to change\n");
        free_report(&r);
    }
    if (lock_fd >= 0)
        close(lock_fd);
    return status;
}
