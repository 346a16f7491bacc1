/* cmd_lolwut.c — LOLWUT [VERSION <v> [args …]], as Redis 7.0: a piece of
 * computer art chosen by version, then "Redis ver. 7.0.15" (the version
 * kvnode speaks the protocol of), as a verbatim text reply.
 *
 *   version 5 (and 4.9): Georg Nees's "Schotter" in Braille characters:
 *     [columns (66)] [squares per row (8)] [squares per column (12)];
 *     rows below the second are rotated and shifted more and more at random.
 *   version 6 (and 5.9): an 8-bit city skyline in the four grays of a color
 *     terminal: [columns (80)] [rows (20)].
 *   anything else (the default, 7): only the version line.
 * Sizes are clamped as Redis clamps them, so that a call stays cheap. */
#include "server.h"

#include "mem.h"
#include "reply.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a canvas of small integers (pixels) ---- */

typedef struct canvas {
    int w, h;
    unsigned char *px;
} canvas;

static canvas canvas_new(int w, int h, int color)
{
    canvas c = {w, h, kv_malloc((size_t)w * (size_t)h)};
    memset(c.px, color, (size_t)w * (size_t)h);
    return c;
}

static void pixel_set(canvas *c, int x, int y, int color)
{
    if (x >= 0 && x < c->w && y >= 0 && y < c->h)
        c->px[x + y * c->w] = (unsigned char)color;
}

static int pixel_at(const canvas *c, int x, int y)
{
    return x >= 0 && x < c->w && y >= 0 && y < c->h ? c->px[x + y * c->w] : 0;
}

/* Bresenham's line. */
static void line(canvas *c, int x1, int y1, int x2, int y2, int color)
{
    int dx = abs(x2 - x1), dy = abs(y2 - y1);
    int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
    int err = dx - dy;
    for (;;) {
        pixel_set(c, x1, y1, color);
        if (x1 == x2 && y1 == y2)
            break;
        int e2 = err * 2;
        if (e2 > -dy) {
            err -= dy;
            x1 += sx;
        }
        if (e2 < dx) {
            err += dx;
            y1 += sy;
        }
    }
}

/* A square of side `size` centred on x,y, turned by `angle`: its corners
 * are points of the circle around it, a quarter turn apart. */
static void square(canvas *c, int x, int y, float size, float angle)
{
    int px[4], py[4];
    size = roundf(size / 1.4142135623f);
    float k = (float)M_PI / 4 + angle;
    for (int j = 0; j < 4; j++) {
        px[j] = (int)lroundf(sinf(k) * size + (float)x);
        py[j] = (int)lroundf(cosf(k) * size + (float)y);
        k += (float)M_PI / 2;
    }
    for (int j = 0; j < 4; j++)
        line(c, px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], 1);
}

/* The art's randomness: not reproducible, as Redis's is not. */
static unsigned rnd(void)
{
    static uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ 0x9E3779B97F4A7C15ull;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (unsigned)(s >> 33);
}

static float rnd_unit(void)
{
    return (float)rnd() / (float)0x7fffffffu;
}

/* ---- version 5: Schotter ---- */

static canvas schotter(int cols, int per_row, int per_col)
{
    int width = cols * 2, pad = width > 4 ? 2 : 0;
    float side = (float)(width - pad * 2) / (float)per_row;
    canvas c = canvas_new(width, (int)(side * (float)per_col) + pad * 2, 0);
    for (int y = 0; y < per_col; y++)
        for (int x = 0; x < per_row; x++) {
            int sx = (int)((float)x * side + side / 2 + (float)pad);
            int sy = (int)((float)y * side + side / 2 + (float)pad);
            float angle = 0;
            if (y > 1) {
                /* Disorder grows row by row. */
                float r[3];
                for (int i = 0; i < 3; i++)
                    r[i] = rnd_unit() / (float)per_col * (float)y;
                for (int i = 0; i < 3; i++)
                    if (rnd() % 2)
                        r[i] = -r[i];
                angle = r[0];
                sx += (int)(r[1] * side / 3);
                sy += (int)(r[2] * side / 3);
            }
            square(&c, sx, sy, side, angle);
        }
    return c;
}

/* Each 2x4 block of pixels as one Braille character (U+2800 + dots). */
static void render_braille(const canvas *c, kbuf *out)
{
    static const int dx[8] = {0, 0, 0, 1, 1, 1, 0, 1}, dy[8] = {0, 1, 2, 0, 1, 2, 3, 3};
    for (int y = 0; y < c->h; y += 4) {
        for (int x = 0; x < c->w; x += 2) {
            int dots = 0;
            for (int b = 0; b < 8; b++)
                if (pixel_at(c, x + dx[b], y + dy[b]))
                    dots |= 1 << b;
            int code = 0x2800 + dots;
            char utf8[3] = {(char)(0xE0 | (code >> 12)), (char)(0x80 | ((code >> 6) & 0x3F)),
                            (char)(0x80 | (code & 0x3F))};
            kbuf_append(out, utf8, 3);
        }
        if (y != c->h - 1)
            kbuf_append(out, "\n", 1);
    }
}

/* ---- version 6: a skyline ---- */

typedef struct tower {
    int xoff, width, height, windows, color;
} tower;

static void draw_tower(canvas *c, const tower *t)
{
    int bottom = c->h - 1, top = bottom - t->height + 1;
    for (int y = bottom; y >= top; y--)
        for (int x = t->xoff; x < t->xoff + t->width; x++) {
            if (y == top && (x <= t->xoff + 1 || x >= t->xoff + t->width - 2))
                continue; /* the roof is narrower */
            int color = t->color;
            if (t->windows && x > t->xoff + 1 && x < t->xoff + t->width - 2 && y > top + 1 &&
                y < bottom - 1) {
                int relx = x - (t->xoff + 1), rely = y - (top + 1);
                /* Windows two pixels wide and one tall (a character is
                 * about twice as tall as wide), lit in one of the grays. */
                if (relx / 2 % 2 && rely % 2) {
                    do
                        color = 1 + (int)(rnd() % 2);
                    while (color == t->color);
                    if (relx % 2)
                        color = pixel_at(c, x - 1, y);
                }
            }
            pixel_set(c, x, y, color);
        }
}

static void skyline(canvas *c)
{
    tower t;
    /* Two rows of plain towers behind, the lighter further back … */
    for (int color = 2; color >= 1; color--) {
        t.color = color;
        for (int off = -10; off < c->w;) {
            off += (int)(rnd() % 8);
            t.xoff = off;
            t.width = 10 + (int)(rnd() % 9);
            t.height = c->h / 2 + (int)(rnd() % (unsigned)c->h) / (color == 2 ? 2 : 3);
            t.windows = 0;
            draw_tower(c, &t);
            off += color == 2 ? t.width / 2 : t.width + 1;
        }
    }
    /* … and black ones with windows in front. */
    t.color = 0;
    for (int off = -10; off < c->w;) {
        off += (int)(rnd() % 8);
        t.xoff = off;
        t.width = 5 + (int)(rnd() % 14);
        if (t.width % 4)
            t.width += t.width % 3;
        t.height = c->h / 3 + (int)(rnd() % (unsigned)c->h) / 2;
        t.windows = 1;
        draw_tower(c, &t);
        off += t.width + 5;
    }
}

/* The four grays of a color terminal, foreground and background both. */
static void render_grays(const canvas *c, kbuf *out)
{
    static const char *const esc[4] = {"0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"};
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            int color = pixel_at(c, x, y);
            kbuf_printf(out, "\033[%s \033[0m", esc[color >= 0 && color < 4 ? color : 0]);
        }
        if (y != c->h - 1)
            kbuf_append(out, "\n", 1);
    }
}

/* ---- the command ---- */

/* The art's argument `at` (after VERSION <v> if given) within [lo, hi]
 * (Redis's clamping), d when absent; -1 after replying an error. */
static int arg_clamped(cmd_ctx *c, int at, long d, long lo, long hi, long *out)
{
    long long v = d;
    if (at < c->argc && arg_ll(c, at, &v) < 0)
        return -1;
    *out = v < lo ? lo : v > hi ? hi : (long)v;
    return 0;
}

static void cmd_lolwut(cmd_ctx *c)
{
    long long ver = 7;
    int base = 0; /* where the art's own arguments start, minus one */
    if (c->argc >= 3 && arg_is(c, 1, "version")) {
        if (arg_ll(c, 2, &ver) < 0)
            return;
        base = 2;
    }
    /* Redis compares the version's text "<v>.0.0" (v as unsigned): 5 and
     * 6 have art; so would 4.9 and 5.9, which "<v>.0.0" never is. */
    unsigned v = (unsigned)ver;
    kbuf out = KBUF_INIT;
    if (v == 5) {
        long cols, per_row, per_col;
        if (arg_clamped(c, base + 1, 66, 1, 1000, &cols) ||
            arg_clamped(c, base + 2, 8, 1, 200, &per_row) ||
            arg_clamped(c, base + 3, 12, 1, 200, &per_col))
            return;
        canvas art = schotter((int)cols, (int)per_row, (int)per_col);
        render_braille(&art, &out);
        kv_free(art.px);
        kbuf_printf(&out, "\nGeorg Nees - schotter, plotter on paper, 1968. ");
    } else if (v == 6) {
        long cols, rows;
        if (arg_clamped(c, base + 1, 80, 1, 1000, &cols) ||
            arg_clamped(c, base + 2, 20, 1, 1000, &rows))
            return;
        canvas art = canvas_new((int)cols, (int)rows, 3);
        skyline(&art);
        render_grays(&art, &out);
        kv_free(art.px);
        kbuf_printf(&out, "\nDedicated to the 8 bit game developers of past and present.\n"
                          "Original 8 bit image from Plaguemon by hikikomori. ");
    }
    kbuf_printf(&out, "Redis ver. %s\n", KV_REDIS_COMPAT_VERSION);
    reply_verbatim(&c->r, kbuf_data(&out), kbuf_len(&out), "txt");
    kbuf_free(&out);
}

const kv_command cmds_lolwut[] = {
    {"lolwut", cmd_lolwut, -1, CMD_READONLY | CMD_FAST | CMD_NOBARRIER, 0, 0, 0, "server",
     "Display some computer art and the Redis version", "5.0.0", "@read @fast"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
