/* test_snapinc.c — snapshots without fork: the image written while the
 * keyspaces keep changing (every kind of change the keyspace offers:
 * overwrite, delete, append, container edits, TTLs, rename, move, copy,
 * clear, databases swapped) loads back as exactly the state at the start;
 * the same on a real loop with the writes on the thread pool; a write
 * that fails ends it with the file removed and the keyspace no longer
 * handing keys over; an abandoned walk leaves the next snapshot whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "faultfs.h"
#include "fsio.h"
#include "keyspace.h"
#include "log.h"
#include "snapinc.h"
#include "snapshot.h"
#include "testutil.h"

#define NDB 4

typedef struct fx {
    char *dir;
    char path[512];
    ks *dbs[NDB];   /* what commands see (SWAPDB swaps these) */
    ks *start[NDB]; /* the databases as numbered when the snapshot began */
    uint64_t rng;
    int done, rc;
    snap_meta meta;
} fx;

static uint64_t rnd(fx *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp("snapinc");
    snprintf(f->path, sizeof f->path, "%s/image.snap", f->dir);
    for (int i = 0; i < NDB; i++)
        f->dbs[i] = ks_new();
    f->rng = 88172645463325252ull;
    log_level = LOG_WARNING + 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    faultfs_uninstall();
    for (int i = 0; i < NDB; i++)
        ks_free(f->dbs[i]);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void on_done(void *arg, int rc, const char *err, const snap_meta *m)
{
    fx *f = arg;
    (void)err;
    f->done++;
    f->rc = rc;
    if (!rc)
        f->meta = *m;
}

static void keyname(char *buf, size_t n, fx *f, int space)
{
    snprintf(buf, n, "key:%d", (int)(rnd(f) % (uint64_t)space));
}

/* Keys of every type, some with TTLs, one list big enough for several
 * blocks. */
static void populate(fx *f, int n)
{
    char key[32], val[64];
    for (int i = 0; i < n; i++) {
        ks *k = f->dbs[rnd(f) % NDB];
        snprintf(key, sizeof key, "key:%d", i);
        if (ks_find(k, key, strlen(key)))
            continue;
        int type = (int)(rnd(f) % 5);
        snprintf(val, sizeof val, "value-%d-%llu", i, (unsigned long long)(rnd(f) % 1000));
        kobj *o;
        if (type == 0) {
            o = ks_set_string(k, key, strlen(key), val, strlen(val), 0);
        } else if (type == 1) {
            o = ks_add_list(k, key, strlen(key));
            for (int j = 0; j < 1 + i % 7; j++)
                list_push(kobj_list(o), LIST_TAIL, val, strlen(val) - (size_t)j % 3);
        } else if (type == 2) {
            o = ks_add_hash(k, key, strlen(key));
            for (int j = 0; j < 1 + i % 5; j++)
                hash_set(kobj_hash(o), val + j, 4, val, strlen(val));
        } else if (type == 3) {
            o = ks_add_set(k, key, strlen(key), set_new());
            for (int j = 0; j < 1 + i % 6; j++)
                kobj_set_add(o, val + j, 5);
        } else {
            o = ks_add_zset(k, key, strlen(key), zset_new());
            for (int j = 0; j < 1 + i % 6; j++)
                zset_set(kobj_zset(o), val + j, 5, (double)j * 1.5);
        }
        if (rnd(f) % 4 == 0)
            ks_set_expire(k, o, 4000000000000ll + (int64_t)i);
    }
    kobj *big = ks_add_list(f->dbs[1], "big", 3);
    char item[200];
    memset(item, 'b', sizeof item);
    for (int j = 0; j < 12000; j++) {
        item[0] = (char)('a' + j % 26);
        list_push(kobj_list(big), LIST_TAIL, item, sizeof item);
    }
}

/* One change, made the way the command layer makes it: find the key,
 * then change it through the pointer, or a whole-key call. */
static void mutate(fx *f)
{
    char key[32], key2[32], val[48];
    int db = (int)(rnd(f) % NDB), other = (db + 1 + (int)(rnd(f) % (NDB - 1))) % NDB;
    ks *k = f->dbs[db];
    int space = ks_size(f->dbs[0]) > 4000 ? 40000 : 1200;
    keyname(key, sizeof key, f, space);
    keyname(key2, sizeof key2, f, space);
    size_t kl = strlen(key), kl2 = strlen(key2);
    snprintf(val, sizeof val, "new-%llu", (unsigned long long)(rnd(f) % 100000));
    kobj *o;
    switch (rnd(f) % 13) {
    case 0:
        ks_set_string(k, key, kl, val, strlen(val), rnd(f) % 2 ? KS_KEEPTTL : 0);
        break;
    case 1:
        ks_delete(k, key, kl);
        break;
    case 2:
        if ((o = ks_find(k, key, kl)) && kobj_type(o) == KT_STRING) {
            size_t len;
            kobj_str(o, &len);
            char *p = ks_string_resize(k, &o, len + 3);
            memcpy(p + len, "+++", 3);
        }
        break;
    case 3:
        o = ks_find(k, key, kl);
        if (!o)
            o = ks_add_list(k, key, kl);
        if (kobj_type(o) == KT_LIST)
            list_push(kobj_list(o), rnd(f) % 2 ? LIST_TAIL : LIST_HEAD, val, strlen(val));
        break;
    case 4:
        o = ks_find(k, key, kl);
        if (!o)
            o = ks_add_hash(k, key, kl);
        if (kobj_type(o) == KT_HASH)
            hash_set(kobj_hash(o), val, 6, val, strlen(val));
        break;
    case 5:
        o = ks_find(k, key, kl);
        if (!o)
            o = ks_add_set(k, key, kl, set_new());
        if (kobj_type(o) == KT_SET)
            kobj_set_add(o, val, strlen(val));
        break;
    case 6:
        o = ks_find(k, key, kl);
        if (!o)
            o = ks_add_zset(k, key, kl, zset_new());
        if (kobj_type(o) == KT_ZSET)
            zset_set(kobj_zset(o), val, strlen(val), (double)(rnd(f) % 100));
        break;
    case 7:
        if ((o = ks_find(k, key, kl)))
            ks_set_expire(k, o, rnd(f) % 3 ? 4100000000000ll : -1);
        break;
    case 8:
        if ((o = ks_find(k, key, kl)) && strcmp(key, key2) != 0)
            ks_rename(k, o, key2, kl2);
        break;
    case 9:
        if ((o = ks_find(k, key, kl)) && !ks_find(f->dbs[other], key, kl))
            ks_move(k, o, f->dbs[other]);
        break;
    case 10:
        if ((o = ks_find(k, key, kl)))
            ks_copy(f->dbs[other], o, key2, kl2);
        break;
    case 11:
        if (rnd(f) % 40 == 0) {
            ks *t = f->dbs[db];
            f->dbs[db] = f->dbs[other];
            f->dbs[other] = t;
        }
        break;
    default:
        if (rnd(f) % 150 == 0)
            ks_clear_lazy(k, (int)(rnd(f) % 2)); /* lazy: a new table mid-walk */
        break;
    }
}

static void digest_of(ks *const *dbs, char out[41])
{
    ks_digest_dbs(dbs, NDB, out);
}

/* Load the image into fresh databases and compare with `want`. */
static void assert_image(fx *f, const char want[41], uint64_t keys)
{
    ks *fresh[NDB];
    for (int i = 0; i < NDB; i++)
        fresh[i] = ks_new();
    snap_meta m;
    char err[256] = "", got[41];
    assert_int_equal(snap_load(f->path, fresh, NDB, &m, err, sizeof err), 0);
    digest_of(fresh, got);
    assert_string_equal(got, want);
    assert_int_equal(m.keys, keys);
    for (int i = 0; i < NDB; i++)
        ks_free(fresh[i]);
}

static uint64_t count(ks *const *dbs)
{
    uint64_t n = 0;
    for (int i = 0; i < NDB; i++)
        n += ks_size(dbs[i]);
    return n;
}

/* Start a snapshot of f->dbs (no loop), remembering the start state. */
static snapinc *start(fx *f, uv_loop_t *loop, char want[41], uint64_t *keys)
{
    memcpy(f->start, f->dbs, sizeof f->dbs);
    digest_of(f->dbs, want);
    *keys = count(f->dbs);
    f->done = 0;
    snapinc *s;
    char err[256] = "";
    assert_int_equal(snapinc_start(&s, loop, f->dbs, NDB, f->path, 7, 3, 0, on_done, f, err, sizeof err),
                     0);
    assert_true(ks_snap_active());
    return s;
}

static void test_image_is_the_start_under_changes(void **state)
{
    fx *f = *state;
    populate(f, 1500);
    for (int round = 0; round < 12; round++) {
        char want[41];
        uint64_t keys;
        snapinc *s = start(f, NULL, want, &keys);
        int over = 0, steps = 0;
        while (!over) {
            int n = (int)(rnd(f) % 8);
            for (int i = 0; i < n; i++)
                mutate(f);
            over = snapinc_step(s, 1 + rnd(f) % 40, 0);
            assert_true(++steps < 100000);
        }
        assert_int_equal(f->done, 1);
        assert_int_equal(f->rc, 0);
        assert_false(ks_snap_active());
        assert_int_equal(f->meta.lsn, 7);
        assert_int_equal(f->meta.term, 3);
        assert_int_equal(f->meta.keys, keys);
        /* The image is the start, under the start's numbering. */
        assert_image(f, want, keys);
        /* Nothing left pending: a snapshot with no changes is now. */
        char now[41];
        s = start(f, NULL, now, &keys);
        assert_int_equal(snapinc_step(s, 0, 0), 1);
        assert_int_equal(f->rc, 0);
        assert_image(f, now, keys);
    }
}

static void test_on_a_loop(void **state)
{
    fx *f = *state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    populate(f, 40000);
    char want[41];
    uint64_t keys;
    start(f, &loop, want, &keys);
    int iters = 0;
    while (!f->done && iters < 1000000) {
        for (int i = 0; i < 20; i++)
            mutate(f);
        uv_run(&loop, UV_RUN_NOWAIT);
        iters++;
    }
    assert_int_equal(f->done, 1);
    /* Slices of SNAPINC_SLICE_US: the walk took several iterations, with
     * changes in between. */
    assert_true(iters >= 4);
    assert_int_equal(f->rc, 0);
    assert_image(f, want, keys);
    /* Its handle and thread-pool jobs are gone: the loop ends. */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_write_error(void **state)
{
    fx *f = *state;
    populate(f, 3000);
    faultfs_install();
    faultfs_fail_path(FF_WRITE, "image.snap", 2, ENOSPC, 1);
    char want[41];
    uint64_t keys;
    snapinc *s = start(f, NULL, want, &keys);
    int over = 0, steps = 0;
    while (!over && steps++ < 100000) {
        mutate(f);
        over = snapinc_step(s, 50, 0);
    }
    assert_int_equal(f->done, 1);
    assert_int_equal(f->rc, KVE_NOSPC);
    assert_false(ks_snap_active());
    assert_int_not_equal(access(f->path, F_OK), 0);
    faultfs_clear();
    /* The next one starts from a clean slate. */
    s = start(f, NULL, want, &keys);
    for (int i = 0; i < 50; i++)
        mutate(f);
    while (!snapinc_step(s, 10, 0))
        mutate(f);
    assert_int_equal(f->rc, 0);
    assert_image(f, want, keys);
}

static void test_abort_then_whole(void **state)
{
    fx *f = *state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    populate(f, 3000);
    char want[41];
    uint64_t keys;
    snapinc *s = start(f, &loop, want, &keys);
    for (int i = 0; i < 20; i++) {
        mutate(f);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(f->done, 0);
    snapinc_abort(s);
    assert_false(ks_snap_active());
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(f->done, 0);
    /* Keys the aborted walk never reached are not left half pending. */
    s = start(f, NULL, want, &keys);
    while (!snapinc_step(s, 25, 0))
        mutate(f);
    assert_int_equal(f->rc, 0);
    assert_image(f, want, keys);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_image_is_the_start_under_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_a_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_then_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
