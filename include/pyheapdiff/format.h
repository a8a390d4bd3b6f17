/*
 * pyheapdiff/format.h - the snapshot file format: constants, the streaming
 * writer used by the agent, and the reader used by the analyzer.
 *
 * docs/format.md is the specification; this header is its C rendering.
 * A snapshot is a 64-byte header followed by chunks (kind, flags, length,
 * payload).  Records never straddle chunks, so a writer can stream a
 * section as many chunks of one kind and a reader can decode a chunk alone.
 * The file ends with a FOOTER chunk holding counts and a CRC-32C of every
 * byte before it.
 */
#ifndef PYHEAPDIFF_FORMAT_H
#define PYHEAPDIFF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"

#define PHD_MAGIC "PYHDSNAP"
#define PHD_END_MAGIC "PYHDEND!"
#define PHD_FORMAT_VERSION 4
/* Version 2 added inline nodes, version 3 references by address, version
 * 4 the values of ints and floats in binary (docs/format.md); files of
 * every earlier version are still read. */
#define PHD_FORMAT_VERSION_INLINE 2
#define PHD_FORMAT_VERSION_ADDR 3
#define PHD_FORMAT_VERSION_NUMBERS 4
#define PHD_HEADER_SIZE 64
#define PHD_CHUNK_HEADER_SIZE 16
#define PHD_FOOTER_PAYLOAD 48
#define PHD_FOOTER_SIZE (PHD_CHUNK_HEADER_SIZE + PHD_FOOTER_PAYLOAD)
#define PHD_PREVIEW_MAX 80
/* Node indices must fit in the 29-bit payload of a resolved label. */
#define PHD_MAX_NODES ((1u << 29) - 1)
/* In the siblings' state only: the target of an edge given by address
 * (version 3), and the key of a VALUE edge whose key was; never a node. */
#define PHD_NO_TARGET UINT32_MAX
#define PHD_KEY_BY_ADDR ((1u << 29) - 1)
/* The most bytes the sizes of one snapshot may add up to (a reader rejects
 * more): every size and sum of sizes fits a signed 64-bit integer, which
 * is what JSON and SQLite carry. */
#define PHD_SIZE_MAX ((uint64_t)INT64_MAX)
/* Type ids a writer hands out stay below this. */
#define PHD_MAX_TYPES (1u << 28)

enum phd_chunk_kind {
    PHD_CHUNK_NODES = 1,
    PHD_CHUNK_STRINGS = 2,
    PHD_CHUNK_TYPES = 3,
    PHD_CHUNK_ROOTS = 4,
    PHD_CHUNK_TYPE_ORIGINS = 5, /* optional: where each type comes from */
    PHD_CHUNK_FOOTER = 0x7fffffff,
};

/* Header flags. */
enum phd_header_flags {
    PHD_HDR_VALUES = 1u << 0,    /* value previews were recorded */
    PHD_HDR_COLLECTED = 1u << 1, /* gc.collect() ran before the dump */
};

/* Node flags (low three bits of a node record's head). */
enum phd_node_flags {
    PHD_NODE_GC_TRACKED = 1u << 0,
    PHD_NODE_PREVIEW = 1u << 1,
    PHD_NODE_SIZE = 1u << 2, /* explicit size; else the type's default */
};

/* Edge label kinds (low three bits of an edge record's head). */
enum phd_label_kind {
    PHD_LABEL_NONE = 0,  /* unlabelled reference from tp_traverse */
    PHD_LABEL_INDEX = 1, /* list/tuple item; payload: the index */
    PHD_LABEL_KEY = 2,   /* a dict key object */
    PHD_LABEL_VALUE = 3, /* a dict value; payload: node index of its key */
    PHD_LABEL_NAME = 4,  /* attribute, slot, local, cell...; payload: string id */
    PHD_LABEL_WEAK = 5,  /* weak reference to the referent (not retaining) */
    PHD_LABEL_TYPE = 6,  /* the object's own type (__class__) */
};
#define PHD_LABEL_KIND(l) ((l) & 7u)
#define PHD_LABEL_PAYLOAD(l) ((l) >> 3)
#define PHD_LABEL_MAKE(kind, payload) (((uint32_t)(payload) << 3) | (uint32_t)(kind))

enum phd_root_kind {
    PHD_ROOT_MODULES = 1,     /* sys.modules */
    PHD_ROOT_SYSDICT = 2,     /* sys.__dict__ */
    PHD_ROOT_BUILTINS = 3,    /* builtins.__dict__ */
    PHD_ROOT_INTERP = 4,      /* other interpreter-state objects */
    PHD_ROOT_THREAD = 5,      /* thread-state objects (dict, exception) */
    PHD_ROOT_FRAME = 6,       /* a local, cell or stack value of a frame */
    PHD_ROOT_KIND_MAX = 6,
};

struct phd_header {
    uint16_t version;
    uint8_t pointer_size;
    uint8_t addr_shift;
    uint8_t py_major, py_minor, py_micro;
    uint32_t flags;
    uint64_t pid;
    uint64_t start_time_ns; /* process start, ns since the epoch */
    uint64_t timestamp_ns;  /* dump time, ns since the epoch */
};

/* ---- low-level encoding helpers (shared by writer, reader and tests) ---- */

/* Appends the LEB128 encoding of v to p; returns the new end (<= 10 bytes). */
static inline unsigned char *phd_varint_put(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Decodes a varint from [*pp, end).  Returns 0 and advances *pp, or -1 when
 * the bytes end first or the encoding is longer than 10 bytes / overflows. */
static inline int phd_varint_get(const unsigned char **pp, const unsigned char *end,
                                 uint64_t *out)
{
    const unsigned char *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        unsigned char b = *p++;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

static inline uint64_t phd_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t phd_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

uint32_t phd_crc32c(uint32_t crc, const void *data, size_t len);
/* The same, always by the portable tables (phd_crc32c uses the CPU's crc32
 * instruction where there is one); for the tests. */
uint32_t phd_crc32c_tables(uint32_t crc, const void *data, size_t len);

/* ---- writer ---------------------------------------------------------- */

/*
 * A buffered chunk writer over a file descriptor.  phd_writer_reserve()
 * guarantees room for a record in the current chunk, flushing a full chunk
 * (and opening the next of the same kind) first.  Errors are sticky: after
 * the first failed write every call is a no-op and phd_writer_finish()
 * returns the saved errno.
 */
struct phd_writer_bg;
struct phd_writer {
    int fd;
    int err;              /* errno of the first failure, 0 if none */
    uint32_t crc;
    uint32_t kind;        /* kind of the open chunk, 0 if none */
    unsigned char *buf;   /* chunk header + payload */
    size_t len, cap;      /* len counts from buf, header included */
    uint64_t offset;      /* bytes written to fd so far (with a background
                           * thread: once phd_writer_finish returned) */
    struct phd_writer_bg *bg; /* see phd_writer_background */
};

int phd_writer_init(struct phd_writer *w, int fd, size_t chunk_size);
/* From now on full chunks are checksummed and written by a second thread
 * while the caller fills the next one (a few chunk buffers in turn); the
 * file is the same.  Returns 0, or an errno value when no thread could be
 * started (the writer then goes on writing itself).  phd_writer_finish and
 * phd_writer_release end the thread. */
int phd_writer_background(struct phd_writer *w);
void phd_writer_release(struct phd_writer *w);
void phd_writer_header(struct phd_writer *w, const struct phd_header *h);
void phd_writer_chunk_begin(struct phd_writer *w, uint32_t kind);
void phd_writer_chunk_end(struct phd_writer *w);
/* Returns a pointer with room for n bytes, or NULL after an error. */
unsigned char *phd_writer_reserve(struct phd_writer *w, size_t n);
static inline void phd_writer_commit(struct phd_writer *w, unsigned char *end)
{
    w->len = (size_t)(end - w->buf);
}
/* Largest encoded edge: head and payload varints. */
#define PHD_EDGE_MAX 20

/* Wire-only label kind: "the label of edge k of the previous node of the
 * same type".  Readers resolve it; resolved labels never carry it. */
#define PHD_LABEL_SIBLING 7
/* How many leading edges of a node its next same-type sibling may copy. */
#define PHD_SIBLING_EDGES 16

/* Per-type memory of the last node written (docs/format.md, "Siblings"). */
struct phd_sibling {
    uint64_t addr;   /* address >> addr_shift of the last node of the type */
    uint32_t n;      /* edges remembered, at most PHD_SIBLING_EDGES */
    uint32_t target[PHD_SIBLING_EDGES];
    uint32_t label[PHD_SIBLING_EDGES]; /* resolved: PHD_LABEL_MAKE(kind, payload) */
};

/*
 * Edge encoder state, shared by every writer of node records: it keeps one
 * phd_sibling per type id and the state of the node being encoded.
 * Call phd_encoder_begin() before a node's edges, phd_encoder_edge() for
 * each edge in order, and phd_encoder_end() after the node's record.
 */
struct phd_encoder {
    struct phd_sibling *sib;
    uint32_t sib_cap;
    uint32_t type;
    uint64_t next_index;
    struct phd_sibling cur;
    unsigned version;  /* the codes written: PHD_FORMAT_VERSION (phd_writer_header writes it) */
    uint64_t last_addr; /* version 3: the last target given by address */
};

int phd_encoder_init(struct phd_encoder *e);
void phd_encoder_release(struct phd_encoder *e);
/* Starts a node of type_id; returns 0, or -1 when out of memory or
 * type_id >= PHD_MAX_TYPES. */
int phd_encoder_begin(struct phd_encoder *e, uint32_t type_id);
/* is_new for phd_encoder_edge: the target is an old node, a new node whose
 * record comes later, or a new inline node whose record the caller writes
 * right behind the edge with phd_encoder_inline(). */
enum phd_target_kind { PHD_TARGET_OLD = 0, PHD_TARGET_NEW = 1, PHD_TARGET_INLINE = 2 };

/* Encodes one edge at p (at most PHD_EDGE_MAX bytes) and returns the new
 * end, in the current format version's codes.  discovered is the number of
 * node indices handed out before this edge; a new or inline target (is_new,
 * enum phd_target_kind) must equal it.  payload: the index for INDEX, the
 * key's node index for VALUE, the string id for NAME, else 0. */
unsigned char *phd_encoder_edge(struct phd_encoder *e, unsigned char *p, uint64_t discovered,
                                uint32_t target, int is_new, unsigned kind, uint64_t payload);
/* Version 3: an edge to an old node given by its address (>> addr_shift)
 * instead of its index, coded against the previous such address; the
 * addresses must keep phd_addr_ref_fits(e->last_addr, target) (every
 * address below 2^59 does).  For a VALUE edge behind it, payload is
 * PHD_KEY_BY_ADDR. */
static inline int phd_addr_ref_fits(uint64_t last, uint64_t target)
{
    return phd_zigzag((int64_t)(target - last)) < ((uint64_t)1 << 56);
}
unsigned char *phd_encoder_edge_addr(struct phd_encoder *e, unsigned char *p, uint64_t target, unsigned kind,
                                     uint64_t payload);
void phd_encoder_end(struct phd_encoder *e);
struct phd_node_out;
/* Largest inline node record: head, address, size and preview varints and
 * the preview's bytes. */
#define PHD_INLINE_MAX (40 + PHD_PREVIEW_MAX)
/* Encodes the record of an inline node (docs/format.md, "Inline nodes") at
 * p, right behind the edge that discovered it with PHD_TARGET_INLINE;
 * n's refcnt, nedges and edges are ignored (1, 0, none) and GC_TRACKED must
 * be clear.  Updates the address state of n->type.  Returns the new end (at
 * most PHD_INLINE_MAX bytes on), or NULL when out of memory or n->type >=
 * PHD_MAX_TYPES. */
unsigned char *phd_encoder_inline(struct phd_encoder *e, unsigned char *p, uint8_t addr_shift,
                                  const struct phd_node_out *n);
/* The address-delta state of a type (the "prev_addr" of phd_writer_node). */
static inline uint64_t *phd_encoder_addr(struct phd_encoder *e, uint32_t type_id)
{
    return &e->sib[type_id].addr;
}

/* Low-level: one edge head and payload as they appear on the wire.  tcode
 * 0 is a new node, 1 the sibling's target, t >= 2 the node discovered - (t - 1). */
static inline unsigned char *phd_edge_encode(unsigned char *p, uint64_t tcode, unsigned kind,
                                             uint64_t payload, uint64_t *next_index)
{
    p = phd_varint_put(p, (tcode << 3) | kind);
    if (kind == PHD_LABEL_INDEX) {
        p = phd_varint_put(p, payload - *next_index);
        *next_index = payload + 1;
    } else if (kind == PHD_LABEL_NAME) {
        p = phd_varint_put(p, payload);
    }
    return p;
}

/* What a node's preview is (docs/format.md, NODES): text, or (version 4)
 * a number whose value the reader renders as repr() does. */
enum phd_preview_kind {
    PHD_PREVIEW_TEXT = 0,
    PHD_PREVIEW_INT = 1,   /* a signed 64-bit integer */
    PHD_PREVIEW_FLOAT = 2, /* an IEEE 754 binary64, by its bits */
};

struct phd_node_out {
    uint32_t type;
    unsigned flags;          /* PHD_NODE_*; SIZE set when size != default */
    uint64_t addr, size, refcnt;
    const char *preview;     /* PHD_NODE_PREVIEW: at most PHD_PREVIEW_MAX bytes inline, */
    size_t preview_len;
    uint32_t preview_sid;    /* or, when not UINT32_MAX, this string id, */
    unsigned preview_kind;   /* or, when not PHD_PREVIEW_TEXT, this number: */
    uint64_t preview_num;    /* the int's value (int64_t) or the float's bits */
    uint32_t nedges;
    const unsigned char *edges; /* nedges encoded edges */
    size_t edges_len;
};

/* Appends a node record; *prev_addr carries the address delta state, the
 * type's (see phd_encoder_addr; starts at 0).  Returns 0, or -1 after a write error (see w->err). */
int phd_writer_node(struct phd_writer *w, uint64_t *prev_addr, uint8_t addr_shift,
                    const struct phd_node_out *n);
int phd_writer_string(struct phd_writer *w, const char *s, size_t len);
int phd_writer_type(struct phd_writer *w, uint32_t name, uint32_t node /* UINT32_MAX: none */,
                    uint64_t default_size);
int phd_writer_root(struct phd_writer *w, uint32_t kind, uint32_t node, uint64_t thread_id,
                    uint32_t name /* UINT32_MAX: none */);
/* One TYPE_ORIGINS record: the enum phd_origin of the next type, in type
 * id order, one per type. */
int phd_writer_origin(struct phd_writer *w, unsigned origin);

struct phd_footer {
    uint64_t nodes, edges, total_size;
    uint32_t strings, types, roots;
};
/* Closes the open chunk, writes the footer.  Returns 0 or an errno. */
int phd_writer_finish(struct phd_writer *w, const struct phd_footer *f);

/* ---- reader ---------------------------------------------------------- */

/* Where a type's code comes from, as the agent saw its module: the
 * TYPE_ORIGINS chunk (docs/format.md). */
enum phd_origin {
    PHD_ORIGIN_UNKNOWN = 0,     /* not recorded (older snapshots) */
    PHD_ORIGIN_BUILTIN = 1,     /* the interpreter's own types: int, dict, function... */
    PHD_ORIGIN_STDLIB = 2,      /* a module of sys.stdlib_module_names */
    PHD_ORIGIN_THIRD_PARTY = 3, /* a module under site-packages or dist-packages */
    PHD_ORIGIN_USER = 4,        /* __main__ and every other module */
    PHD_ORIGIN_COUNT
};

struct phd_type {
    uint32_t name;      /* string id of the module-qualified name */
    uint32_t node;      /* node index of the type object, or UINT32_MAX */
    uint64_t default_size;
    uint8_t origin;     /* enum phd_origin */
};

struct phd_root {
    uint32_t kind;
    uint32_t node;
    uint64_t thread_id;
    uint32_t name;      /* string id, or UINT32_MAX */
};

/*
 * A snapshot loaded in memory.  Node arrays are indexed by node index;
 * edges of node i are edge_target/edge_label[edge_start[i] .. edge_start[i+1]).
 * Labels are resolved: INDEX carries the index, VALUE the key's node index,
 * NAME a string id (see PHD_LABEL_*).  Strings are copies, repaired to
 * well-formed UTF-8 with a NUL spelled C0 80 (pyheapdiff/text.h).
 */
struct phd_snapshot {
    char *path;
    struct phd_header hdr;
    uint32_t n_nodes, n_types, n_strings, n_roots;
    uint64_t n_edges, total_size;
    uint32_t crc;

    const char **str;
    uint32_t *str_len;
    uint32_t n_repaired_strings; /* strings with invalid UTF-8 replaced by U+FFFD */
    struct phd_type *types;
    struct phd_root *roots;

    uint64_t *addr;
    /* shallow sizes; UINT32_MAX: the size is in big_size (4 GiB - 1 or
     * more, rare), which is sorted by node.  Read them through
     * phd_snapshot_size(). */
    uint32_t *size;
    struct phd_big_size {
        uint32_t node;
        uint64_t size;
    } *big_size;
    uint32_t n_big_size;
    uint32_t *refcnt;    /* saturated at UINT32_MAX */
    uint32_t *type;
    uint8_t *flags;
    uint64_t *preview;   /* file offset of the preview record, 0 if none */
    uint32_t *edge_start; /* fewer than 2^32 edges: the reader checks */
    uint32_t *edge_target;
    uint32_t *edge_label;

    char *str_arena;
    const unsigned char *map;
    size_t map_len;
    int mapped;
};

/* The big_size entry of node i (src/format/reader.c). */
uint64_t phd_snapshot_big_size(const struct phd_snapshot *s, uint32_t i);
/* The shallow size of node i. */
static inline uint64_t phd_snapshot_size(const struct phd_snapshot *s, uint32_t i)
{
    return s->size[i] != UINT32_MAX ? s->size[i] : phd_snapshot_big_size(s, i);
}

/* A node recorded with refcount 0 is immortal (CPython 3.12 and later):
 * its refcount is no count, so it says nothing about unknown holders. */
static inline int phd_snapshot_immortal(const struct phd_snapshot *s, uint32_t node)
{
    return s->refcnt[node] == 0;
}

enum phd_open_flags {
    PHD_OPEN_HEADER_ONLY = 1u << 0, /* header, footer and checksum; no arrays */
};

int phd_snapshot_open(struct phd_snapshot **out, const char *path, unsigned flags,
                      struct phd_error *err);
/* Parses an in-memory image; name is used in messages.  The buffer must
 * outlive the snapshot. */
int phd_snapshot_parse(struct phd_snapshot **out, const char *name, const void *data,
                       size_t len, unsigned flags, struct phd_error *err);
void phd_snapshot_free(struct phd_snapshot **s);
/* Gives back the pages of the mapped file that reading previews brought
 * in (a later preview faults its page in again from the page cache), so
 * that a pass over every preview does not leave the whole file counted
 * against the process's memory.  Nothing for a parsed in-memory image. */
void phd_snapshot_drop_pages(const struct phd_snapshot *s);

/* Copies the preview of node i (without a terminating NUL) into buf, at most
 * cap bytes; returns its length, or -1 when the node has none. */
int phd_snapshot_preview(const struct phd_snapshot *s, uint32_t i, char *buf, size_t cap);
/* Is node i's preview a name (a string id: a module's name or the
 * __qualname__ of a function, class or code object), not a value?  Names
 * are whole; value previews are cut at PHD_PREVIEW_MAX bytes. */
int phd_snapshot_preview_is_name(const struct phd_snapshot *s, uint32_t i);
const char *phd_snapshot_type_name(const struct phd_snapshot *s, uint32_t type_id);
const char *phd_root_kind_name(uint32_t kind);
const char *phd_label_kind_name(uint32_t kind);

/* What a file is, from its first bytes (src/format/filekind.c): a
 * snapshot, a database (SQLite's header; pyheapdiff/store.h opens it) or
 * something else. */
enum phd_file_kind { PHD_FILE_ERROR = -1, PHD_FILE_OTHER = 0, PHD_FILE_SNAPSHOT, PHD_FILE_DATABASE };
/* Sniffs path; PHD_FILE_ERROR with err set when it cannot be read. */
int phd_file_kind(const char *path, struct phd_error *err);

#endif
