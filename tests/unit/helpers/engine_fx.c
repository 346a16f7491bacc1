/* engine_fx.c — see engine_fx.h. */
#include "engine_fx.h"

#include <stdlib.h>

#include "faultfs.h"
#include "log.h"
#include "testutil.h"

int engine_fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = tu_mkdtemp("engine");
    uv_loop_init(&f->loop);
    engine_config_defaults(&f->cfg);
    f->cfg.dir = f->dir;
    f->cfg.wal_segment_size = 256 * 1024;
    f->cfg.snapshot_fork = 0;
    f->cfg.nsave = 0;
    f->cfg.snapshot_wal_min = 0;
    f->cfg.snapshot_wal_pct = 0;
    log_level = LOG_WARNING + 1;
    *state = f;
    return 0;
}

void close_engine(fx *f)
{
    if (f->e) {
        engine_close(f->e);
        f->e = NULL;
        tu_drain(&f->loop, 2000);
    }
}

int engine_fx_teardown(void **state)
{
    fx *f = *state;
    close_engine(f);
    faultfs_uninstall();
    uv_loop_close(&f->loop);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}
