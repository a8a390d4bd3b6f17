/*
 * writer.c - the streaming chunk writer shared by the agent and the tests.
 *
 * The buffer always starts with the 16-byte header of the open chunk; records
 * are appended behind it.  When a record does not fit, the chunk is closed
 * (its length filled in), checksummed, written, and a new chunk of the same
 * kind is opened in the same buffer.  A record larger than the buffer grows
 * the buffer, so any record fits in one chunk.  Nothing is ever patched
 * after it is written, which keeps the running CRC-32C a single pass.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pyheapdiff/floatrepr.h"
#include "pyheapdiff/format.h"
#include "pyheapdiff/thread.h"

#include <pthread.h>

static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The buffer is mapped, not taken from malloc: the agent writes from
 * inside the process it inspects, and a large malloc'd block freed after
 * each dump would leave glibc keeping that much of the heap resident. */
static unsigned char *buf_map(unsigned char *old, size_t old_len, size_t len)
{
    void *p = old ? mremap(old, old_len, len, MREMAP_MAYMOVE)
                  : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int phd_writer_init(struct phd_writer *w, int fd, size_t chunk_size)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    if (chunk_size < 4096)
        chunk_size = 4096;
    w->buf = buf_map(NULL, 0, chunk_size);
    if (!w->buf)
        return ENOMEM;
    w->cap = chunk_size;
    return 0;
}

/* Checksums and writes p[0, n) to fd; the first error sticks in *err. */
static void write_out(int fd, uint32_t *crc, uint64_t *offset, int *err, const unsigned char *p, size_t n)
{
    if (*err)
        return;
    *crc = phd_crc32c(*crc, p, n);
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            *err = errno;
            return;
        }
        p += k;
        n -= (size_t)k;
        *offset += (uint64_t)k;
    }
}

static void write_all(struct phd_writer *w, const unsigned char *p, size_t n)
{
    write_out(w->fd, &w->crc, &w->offset, &w->err, p, n);
}

/*
 * The background thread.  Chunk buffers are used in turn: the caller fills
 * buffer handed % BG_BUFS while the thread writes buffers [done, handed).
 * crc, offset and err belong to the thread until it is joined; the caller
 * learns of an error at the next hand-over.  One mutex, taken once per
 * chunk; the condition variable wakes whichever side waits.
 */
#define BG_BUFS 2
struct phd_writer_bg {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[BG_BUFS];
    size_t cap[BG_BUFS], len[BG_BUFS];
    uint64_t handed, done;
    int quit;
    int err;              /* the thread's, under mu */
    uint32_t crc;         /* the thread's until joined */
    uint64_t offset;
};

static void *bg_main(void *arg)
{
    struct phd_writer *w = arg;
    struct phd_writer_bg *bg = w->bg;
    int err = 0;
    pthread_mutex_lock(&bg->mu);
    for (;;) {
        if (bg->done == bg->handed) {
            if (bg->quit)
                break;
            pthread_cond_wait(&bg->cv, &bg->mu);
            continue;
        }
        unsigned i = (unsigned)(bg->done % BG_BUFS);
        pthread_mutex_unlock(&bg->mu);
        write_out(w->fd, &bg->crc, &bg->offset, &err, bg->buf[i], bg->len[i]);
        pthread_mutex_lock(&bg->mu);
        bg->err = err;
        bg->done++;
        pthread_cond_broadcast(&bg->cv);
    }
    pthread_mutex_unlock(&bg->mu);
    return NULL;
}

int phd_writer_background(struct phd_writer *w)
{
    if (w->bg || w->err)
        return w->err;
    struct phd_writer_bg *bg = calloc(1, sizeof *bg);
    if (!bg)
        return ENOMEM;
    bg->buf[0] = w->buf;
    bg->cap[0] = w->cap;
    for (unsigned i = 1; i < BG_BUFS; i++) {
        bg->buf[i] = buf_map(NULL, 0, w->cap);
        bg->cap[i] = w->cap;
        if (!bg->buf[i]) {
            while (--i)
                munmap(bg->buf[i], bg->cap[i]);
            free(bg);
            return ENOMEM;
        }
    }
    bg->crc = w->crc;
    bg->offset = w->offset;
    int err = pthread_mutex_init(&bg->mu, NULL);
    if (!err) {
        err = pthread_cond_init(&bg->cv, NULL);
        if (!err) {
            w->bg = bg;
            err = phd_thread_start(&bg->th, bg_main, w, 64 * 1024);
            if (!err)
                return 0;
            w->bg = NULL;
            pthread_cond_destroy(&bg->cv);
        }
        pthread_mutex_destroy(&bg->mu);
    }
    for (unsigned i = 1; i < BG_BUFS; i++)
        munmap(bg->buf[i], bg->cap[i]);
    free(bg);
    return err;
}

/* Hands the chunk in w->buf to the thread and moves w->buf to the next
 * free buffer. */
static void bg_hand(struct phd_writer *w, size_t len)
{
    struct phd_writer_bg *bg = w->bg;
    pthread_mutex_lock(&bg->mu);
    unsigned i = (unsigned)(bg->handed % BG_BUFS);
    bg->buf[i] = w->buf; /* phd_writer_reserve may have moved or grown it */
    bg->cap[i] = w->cap;
    bg->len[i] = len;
    bg->handed++;
    pthread_cond_broadcast(&bg->cv);
    while (bg->handed - bg->done >= BG_BUFS)
        pthread_cond_wait(&bg->cv, &bg->mu);
    if (bg->err && !w->err)
        w->err = bg->err;
    pthread_mutex_unlock(&bg->mu);
    i = (unsigned)(bg->handed % BG_BUFS);
    w->buf = bg->buf[i];
    w->cap = bg->cap[i];
}

/* Waits for the thread to write everything handed to it and ends it; the
 * writer then writes itself again. */
static void bg_stop(struct phd_writer *w)
{
    struct phd_writer_bg *bg = w->bg;
    if (!bg)
        return;
    pthread_mutex_lock(&bg->mu);
    bg->quit = 1;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    pthread_join(bg->th, NULL);
    pthread_cond_destroy(&bg->cv);
    pthread_mutex_destroy(&bg->mu);
    if (bg->err && !w->err)
        w->err = bg->err;
    w->crc = bg->crc;
    w->offset = bg->offset;
    /* the current one is w->buf (bg->buf[cur] may be its old address) */
    unsigned cur = (unsigned)(bg->handed % BG_BUFS);
    for (unsigned i = 0; i < BG_BUFS; i++)
        if (i != cur)
            munmap(bg->buf[i], bg->cap[i]);
    free(bg);
    w->bg = NULL;
}

void phd_writer_release(struct phd_writer *w)
{
    bg_stop(w);
    if (w->buf)
        munmap(w->buf, w->cap);
    w->buf = NULL;
    w->cap = w->len = 0;
}

void phd_writer_header(struct phd_writer *w, const struct phd_header *h)
{
    unsigned char b[PHD_HEADER_SIZE];
    memset(b, 0, sizeof b);
    memcpy(b, PHD_MAGIC, 8);
    put_u16(b + 8, PHD_FORMAT_VERSION);
    put_u16(b + 10, PHD_HEADER_SIZE);
    b[12] = h->pointer_size;
    b[13] = h->addr_shift;
    b[14] = h->py_major;
    b[15] = h->py_minor;
    b[16] = h->py_micro;
    put_u32(b + 20, h->flags);
    put_u64(b + 24, h->pid);
    put_u64(b + 32, h->start_time_ns);
    put_u64(b + 40, h->timestamp_ns);
    write_all(w, b, sizeof b);
}

void phd_writer_chunk_begin(struct phd_writer *w, uint32_t kind)
{
    phd_writer_chunk_end(w);
    w->kind = kind;
    w->len = PHD_CHUNK_HEADER_SIZE;
}

void phd_writer_chunk_end(struct phd_writer *w)
{
    if (!w->kind)
        return;
    if (w->len > PHD_CHUNK_HEADER_SIZE) {
        put_u32(w->buf, w->kind);
        put_u32(w->buf + 4, 0);
        put_u64(w->buf + 8, (uint64_t)(w->len - PHD_CHUNK_HEADER_SIZE));
        if (w->bg)
            bg_hand(w, w->len);
        else
            write_all(w, w->buf, w->len);
    }
    w->kind = 0;
    w->len = 0;
}

unsigned char *phd_writer_reserve(struct phd_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->len + n <= w->cap)
        return w->buf + w->len;
    uint32_t kind = w->kind;
    phd_writer_chunk_end(w);
    phd_writer_chunk_begin(w, kind);
    if (w->err)
        return NULL;
    if (w->len + n > w->cap) {
        size_t cap = w->cap;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *nb = buf_map(w->buf, w->cap, cap);
        if (!nb) {
            w->err = ENOMEM;
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    return w->buf + w->len;
}

int phd_writer_finish(struct phd_writer *w, const struct phd_footer *f)
{
    unsigned char b[PHD_FOOTER_SIZE];
    phd_writer_chunk_end(w);
    bg_stop(w);
    if (w->err)
        return w->err;
    put_u32(b, PHD_CHUNK_FOOTER);
    put_u32(b + 4, 0);
    put_u64(b + 8, PHD_FOOTER_PAYLOAD);
    unsigned char *p = b + PHD_CHUNK_HEADER_SIZE;
    put_u64(p, f->nodes);
    put_u64(p + 8, f->edges);
    put_u64(p + 16, f->total_size);
    put_u32(p + 24, f->strings);
    put_u32(p + 28, f->types);
    put_u32(p + 32, f->roots);
    put_u32(p + 36, w->crc); /* CRC of every byte before the footer */
    memcpy(p + 40, PHD_END_MAGIC, 8);
    uint32_t crc = w->crc;
    write_all(w, b, sizeof b);
    w->crc = crc;
    return w->err;
}

/* A node's preview (docs/format.md, NODES) in the codes of version: a
 * string id; a number's value (version 4), which older versions get as
 * text; or the text.  At most PHD_PREVIEW_MAX + 2 bytes. */
static unsigned char *put_preview(unsigned char *p, const struct phd_node_out *n, unsigned version)
{
    if (n->preview_sid != UINT32_MAX)
        return phd_varint_put(p, ((uint64_t)n->preview_sid << 1) | 1);
    const char *text = n->preview;
    size_t len = n->preview_len;
    char tmp[PHD_FLOAT_REPR_MAX];
    if (n->preview_kind != PHD_PREVIEW_TEXT) {
        if (version >= PHD_FORMAT_VERSION_NUMBERS) {
            p = phd_varint_put(p, ((uint64_t)n->preview_kind << 2) | 2);
            if (n->preview_kind == PHD_PREVIEW_INT)
                return phd_varint_put(p, phd_zigzag((int64_t)n->preview_num));
            put_u64(p, n->preview_num);
            return p + 8;
        }
        len = phd_number_text(n->preview_kind == PHD_PREVIEW_FLOAT, n->preview_num, tmp);
        text = tmp;
    }
    p = phd_varint_put(p, (uint64_t)len << (version >= PHD_FORMAT_VERSION_NUMBERS ? 2 : 1));
    memcpy(p, text, len);
    return p + len;
}

int phd_writer_node(struct phd_writer *w, uint64_t *prev_addr, uint8_t addr_shift,
                    const struct phd_node_out *n)
{
    unsigned char *p = phd_writer_reserve(w, 60 + PHD_PREVIEW_MAX + n->edges_len);
    if (!p)
        return -1;
    uint64_t a = n->addr >> addr_shift;
    p = phd_varint_put(p, ((uint64_t)n->type << 3) | (n->flags & 7));
    p = phd_varint_put(p, phd_zigzag((int64_t)(a - *prev_addr)));
    *prev_addr = a;
    if (n->flags & PHD_NODE_SIZE)
        p = phd_varint_put(p, n->size);
    p = phd_varint_put(p, n->refcnt);
    if (n->flags & PHD_NODE_PREVIEW)
        p = put_preview(p, n, PHD_FORMAT_VERSION);
    p = phd_varint_put(p, n->nedges);
    if (n->edges_len)
        memcpy(p, n->edges, n->edges_len);
    phd_writer_commit(w, p + n->edges_len);
    return 0;
}

int phd_writer_string(struct phd_writer *w, const char *s, size_t len)
{
    unsigned char *p = phd_writer_reserve(w, 10 + len);
    if (!p)
        return -1;
    p = phd_varint_put(p, len);
    memcpy(p, s, len);
    phd_writer_commit(w, p + len);
    return 0;
}

int phd_writer_type(struct phd_writer *w, uint32_t name, uint32_t node, uint64_t default_size)
{
    unsigned char *p = phd_writer_reserve(w, 30);
    if (!p)
        return -1;
    p = phd_varint_put(p, name);
    p = phd_varint_put(p, node == UINT32_MAX ? 0 : (uint64_t)node + 1);
    p = phd_varint_put(p, default_size);
    phd_writer_commit(w, p);
    return 0;
}

int phd_writer_origin(struct phd_writer *w, unsigned origin)
{
    unsigned char *p = phd_writer_reserve(w, 10);
    if (!p)
        return -1;
    phd_writer_commit(w, phd_varint_put(p, origin));
    return 0;
}

int phd_writer_root(struct phd_writer *w, uint32_t kind, uint32_t node, uint64_t thread_id, uint32_t name)
{
    unsigned char *p = phd_writer_reserve(w, 40);
    if (!p)
        return -1;
    p = phd_varint_put(p, kind);
    p = phd_varint_put(p, node);
    p = phd_varint_put(p, thread_id);
    p = phd_varint_put(p, name == UINT32_MAX ? 0 : (uint64_t)name + 1);
    phd_writer_commit(w, p);
    return 0;
}

/* ---- the edge encoder ---------------------------------------------------- */

int phd_encoder_init(struct phd_encoder *e)
{
    memset(e, 0, sizeof *e);
    e->version = PHD_FORMAT_VERSION;
    return 0;
}

void phd_encoder_release(struct phd_encoder *e)
{
    free(e->sib);
    memset(e, 0, sizeof *e);
}

/* Makes room for the sibling state of type_id. */
static int encoder_room(struct phd_encoder *e, uint32_t type_id)
{
    if (type_id >= PHD_MAX_TYPES)
        return -1;
    if (type_id >= e->sib_cap) {
        uint32_t ncap = e->sib_cap ? e->sib_cap : 64;
        while (ncap <= type_id)
            ncap *= 2; /* below 2^31: type_id < PHD_MAX_TYPES */
        struct phd_sibling *ns = realloc(e->sib, ncap * sizeof *ns);
        if (!ns)
            return -1;
        memset(ns + e->sib_cap, 0, (ncap - e->sib_cap) * sizeof *ns);
        e->sib = ns;
        e->sib_cap = ncap;
    }
    return 0;
}

int phd_encoder_begin(struct phd_encoder *e, uint32_t type_id)
{
    if (encoder_room(e, type_id) < 0)
        return -1;
    e->type = type_id;
    e->next_index = 0;
    e->cur.n = 0;
    return 0;
}

/* The edge head with target code tcode and its label (copied from the
 * sibling's when equal), and the edge in the current node's sibling
 * state, with target (PHD_NO_TARGET: none to copy). */
static unsigned char *put_edge(struct phd_encoder *e, unsigned char *p, uint64_t tcode, uint32_t target,
                               unsigned kind, uint64_t payload)
{
    const struct phd_sibling *sib = &e->sib[e->type];
    uint32_t k = e->cur.n;
    uint32_t label = PHD_LABEL_MAKE(kind, payload);
    if (k < sib->n && sib->label[k] == label) {
        p = phd_varint_put(p, (tcode << 3) | PHD_LABEL_SIBLING);
        if (kind == PHD_LABEL_INDEX)
            e->next_index = payload + 1;
    } else {
        p = phd_edge_encode(p, tcode, kind, payload, &e->next_index);
    }
    if (k < PHD_SIBLING_EDGES) {
        e->cur.target[k] = target;
        e->cur.label[k] = label;
        e->cur.n = k + 1;
    }
    return p;
}

unsigned char *phd_encoder_edge(struct phd_encoder *e, unsigned char *p, uint64_t discovered, uint32_t target,
                                int is_new, unsigned kind, uint64_t payload)
{
    const struct phd_sibling *sib = &e->sib[e->type];
    uint32_t k = e->cur.n;
    /* version 2 codes: 0 new, 1 inline, 2 the sibling's target, t >= 3
     * the node discovered - (t - 2); version 3: the node discovered -
     * (t - 1) / 2 for odd t >= 3, even ones give addresses */
    uint64_t tcode = is_new == PHD_TARGET_NEW          ? 0
                     : is_new == PHD_TARGET_INLINE     ? 1
                     : (k < sib->n && sib->target[k] == target) ? 2
                     : e->version >= 3                 ? 2 * (discovered - target) + 1
                                                       : discovered - target + 2;
    if (kind == PHD_LABEL_TYPE)
        tcode = 0; /* the target is implied */
    return put_edge(e, p, tcode, target, kind, payload);
}

unsigned char *phd_encoder_edge_addr(struct phd_encoder *e, unsigned char *p, uint64_t target, unsigned kind,
                                     uint64_t payload)
{
    uint64_t tcode = 4 + 2 * phd_zigzag((int64_t)(target - e->last_addr));
    e->last_addr = target;
    return put_edge(e, p, tcode, PHD_NO_TARGET, kind, payload); /* no sibling can copy it */
}

void phd_encoder_end(struct phd_encoder *e)
{
    struct phd_sibling *sib = &e->sib[e->type];
    sib->n = e->cur.n;
    memcpy(sib->target, e->cur.target, e->cur.n * sizeof sib->target[0]);
    memcpy(sib->label, e->cur.label, e->cur.n * sizeof sib->label[0]);
}

unsigned char *phd_encoder_inline(struct phd_encoder *e, unsigned char *p, uint8_t addr_shift,
                                  const struct phd_node_out *n)
{
    if (encoder_room(e, n->type) < 0)
        return NULL;
    uint64_t *prev = &e->sib[n->type].addr, a = n->addr >> addr_shift;
    p = phd_varint_put(p, ((uint64_t)n->type << 3) | (n->flags & (PHD_NODE_PREVIEW | PHD_NODE_SIZE)));
    p = phd_varint_put(p, phd_zigzag((int64_t)(a - *prev)));
    *prev = a;
    if (n->flags & PHD_NODE_SIZE)
        p = phd_varint_put(p, n->size);
    if (n->flags & PHD_NODE_PREVIEW)
        p = put_preview(p, n, e->version);
    return p;
}
