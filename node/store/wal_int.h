/* wal_int.h — the WAL's internal interface, shared by the files of
 * node/store that implement the WAL and by the offline checker
 * (check.c). Nothing outside node/store includes it. */
#ifndef KV_WAL_INT_H
#define KV_WAL_INT_H

#include "wal.h"

#include <stddef.h>
#include <stdint.h>

/* "<dir>/wal-<first LSN, 20 digits>.log". */
void wal_seg_path(char *out, size_t n, const char *dir, uint64_t first_lsn);

/* First LSNs of the segment files in dir, sorted, in a plain malloc'd array
 * (the caller free()s it; callable from any thread). 0 or KVE_* with err. */
int wal_list_segments(const char *dir, uint64_t **out, size_t *n, char *err, size_t errlen);

/* How the records of one segment file end. */
typedef enum wal_seg_end {
    WAL_SEG_CLEAN,      /* valid records with consecutive LSNs, then zeros */
    WAL_SEG_EMPTY,      /* all zeros (or empty): created, no header written yet */
    WAL_SEG_NO_HEADER,  /* zeros where the header belongs, bytes after it */
    WAL_SEG_BAD_HEADER, /* a header with a wrong magic, version, CRC or LSN */
    WAL_SEG_TORN,       /* an invalid record with no valid record after it */
    WAL_SEG_CORRUPT,    /* an invalid record with a valid record after it */
    WAL_SEG_WRONG_LSN,  /* a valid record whose LSN is not the next one */
    WAL_SEG_TERM_BACK,  /* a valid record whose term is below the one before */
} wal_seg_end;

/* What a walk over one segment found. The file is never changed. */
typedef struct wal_seg_scan {
    wal_seg_end end;
    uint64_t size;        /* file size */
    uint64_t records;     /* valid records before end_off */
    uint64_t first_lsn;   /* from the file name */
    uint64_t last_lsn;    /* of the last valid record (first_lsn - 1: none) */
    uint64_t min_term, max_term; /* of the valid records (0, 0: none) */
    uint64_t last_term;   /* term of the last valid record (or the one given) */
    uint64_t end_off;     /* where the valid records end: the damage, if any */
    uint64_t bad_bytes;   /* TORN: bytes from end_off to the last non-zero byte */
    uint64_t next_off;    /* CORRUPT: offset of the next valid record */
    uint64_t found_lsn;   /* CORRUPT, WRONG_LSN, TERM_BACK: that record's LSN */
    uint64_t found_term;  /* ... and its term */
} wal_seg_scan;

/* Called for each valid record in order, with its offset in the file.
 * Return 0 to go on; anything else stops the walk and is returned. */
typedef int (*wal_scan_fn)(void *arg, const wal_record *rec, uint64_t off);

/* Walk the segment at path, which should start at first_lsn and whose
 * records must have terms >= prev_term. Returns 0 with *out filled (see
 * out->end), KVE_IO with a message when the file cannot be read, or what fn
 * returned (out then describes the records before the one that stopped). */
int wal_scan_segment(const char *path, uint64_t first_lsn, uint64_t prev_term, wal_scan_fn fn,
                     void *arg, wal_seg_scan *out, char *err, size_t errlen);

/* A short description of how a scan ended ("torn tail", ...). */
const char *wal_seg_end_name(wal_seg_end end);

#endif
