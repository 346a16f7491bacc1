/* engine_fx.h — the fixture of the engine tests: a scratch data dir, a
 * loop, and an engine_config for small segments with no automatic
 * snapshots (tests take them by hand). */
#ifndef KV_ENGINE_FX_H
#define KV_ENGINE_FX_H

#include <uv.h>

#include "engine.h"

typedef struct fx {
    char *dir;
    uv_loop_t loop;
    engine *e; /* opened by the test; closed by close_engine/teardown */
    engine_config cfg;
} fx;

/* cmocka setup/teardown: *state is an fx. teardown also closes the
 * engine, puts the file system back to POSIX and removes the dir. */
int engine_fx_setup(void **state);
int engine_fx_teardown(void **state);
/* Close f->e if open and let the loop finish its handles. */
void close_engine(fx *f);

#endif
