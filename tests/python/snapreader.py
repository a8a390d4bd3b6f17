"""An independent pure-Python reader of pyheapdiff snapshots (format versions 1 to 4).

Written from docs/format.md alone (including the sibling coding of
addresses, edge targets and labels, string-id previews, version 2's
inline nodes, version 3's references by address and version 4's numbers,
which it renders with Python's own str() and repr()), as a second
implementation to check the agent's writer and the C reader against.
Usage::

    snap = snapreader.read("x.snap")
    snap.nodes[0].type, snap.nodes[0].edges
    node = snap.by_addr[id(obj)]

Everything the spec says a reader must reject raises SnapshotError.
"""

import struct

MAGIC = b"PYHDSNAP"
END_MAGIC = b"PYHDEND!"
FORMAT_VERSION = 4
VERSION_INLINE = 2  # inline nodes (docs/format.md)
VERSION_ADDR = 3    # edges to old nodes by address
VERSION_NUMBERS = 4  # int and float previews by value
PREVIEW_INT, PREVIEW_FLOAT = 1, 2
HEADER_SIZE = 64
CHUNK_HEADER_SIZE = 16
FOOTER_SIZE = 64

CHUNK_NODES, CHUNK_STRINGS, CHUNK_TYPES, CHUNK_ROOTS, CHUNK_FOOTER = 1, 2, 3, 4, 0x7FFFFFFF

HDR_VALUES, HDR_COLLECTED = 1, 2
NODE_GC_TRACKED, NODE_PREVIEW, NODE_SIZE = 1, 2, 4

NONE, INDEX, KEY, VALUE, NAME, WEAK, TYPE = range(7)
SIBLING = 7  # wire only: "the label of edge k of the sibling"; never in resolved edges
SIBLING_EDGES = 16
KIND_NAMES = {NONE: "NONE", INDEX: "INDEX", KEY: "KEY", VALUE: "VALUE", NAME: "NAME", WEAK: "WEAK",
              TYPE: "TYPE"}

ROOT_MODULES, ROOT_SYS, ROOT_BUILTINS, ROOT_INTERP, ROOT_THREAD, ROOT_FRAME = range(1, 7)

MAX_NODES = (1 << 29) - 1
PREVIEW_MAX = 80


class SnapshotError(ValueError):
    pass


# ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) -----------------

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C of data (bytes-like); crc continues a previous result."""
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for b in memoryview(data).cast("B"):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# ---- the data model ------------------------------------------------------

class Type:
    __slots__ = ("id", "name", "node", "default_size")

    def __init__(self, id, name, node, default_size):
        self.id, self.name, self.node, self.default_size = id, name, node, default_size

    def __repr__(self):
        return f"Type({self.id}, {self.name!r}, node={self.node}, default_size={self.default_size})"


class Root:
    __slots__ = ("kind", "node", "thread_id", "name")

    def __init__(self, kind, node, thread_id, name):
        self.kind, self.node, self.thread_id, self.name = kind, node, thread_id, name

    def __repr__(self):
        return f"Root(kind={self.kind}, node={self.node}, thread={self.thread_id}, name={self.name!r})"


class Node:
    """One object.  edges: list of (target node index, kind, payload) where
    payload is the index for INDEX, the key's node index for VALUE, the
    name (str) for NAME, else None."""

    __slots__ = ("index", "addr", "type_id", "type", "size", "refcount", "flags", "preview", "edges", "inline")

    def __init__(self):
        self.inline = False  # version 2: written inline behind its one reference

    @property
    def gc_tracked(self):
        return bool(self.flags & NODE_GC_TRACKED)

    def targets(self, *kinds):
        return [t for t, k, _ in self.edges if not kinds or k in kinds]

    def __repr__(self):
        return (f"Node({self.index}, {self.type!r}, addr={self.addr:#x}, size={self.size}, "
                f"refcnt={self.refcount}, flags={self.flags}, preview={self.preview!r}, "
                f"{len(self.edges)} edges)")


class Snapshot:
    def __init__(self, path):
        self.path = path
        self._by_addr = None

    @property
    def by_addr(self):
        """dict address -> Node."""
        if self._by_addr is None:
            self._by_addr = index_by_addr(self)
        return self._by_addr

    def node(self, addr):
        return self.by_addr.get(addr)

    def label(self, edge):
        """A human-readable label of an edge, as in the spec's table."""
        target, kind, payload = edge
        if kind == INDEX:
            return f"[{payload}]"
        if kind == KEY:
            return "<key>"
        if kind == VALUE:
            return f"[{self.nodes[payload].preview!r}]"
        if kind == NAME:
            return f".{payload}"
        if kind == WEAK:
            return "<weak>"
        if kind == TYPE:
            return ".__class__"
        return ""

    def referrers(self, index):
        """(source index, edge) for every edge pointing at node index."""
        out = []
        for n in self.nodes:
            for e in n.edges:
                if e[0] == index:
                    out.append((n.index, e))
        return out


def index_by_addr(snap):
    by = {}
    for n in snap.nodes:
        if n.addr in by:
            raise SnapshotError(f"{snap.path}: address {n.addr:#x} appears twice "
                                f"(nodes {by[n.addr].index} and {n.index})")
        by[n.addr] = n
    return by


# ---- decoding --------------------------------------------------------------

def _fail(path, msg, offset=None):
    where = f" at byte {offset}" if offset is not None else ""
    raise SnapshotError(f"{path}: {msg}{where}")


class _Cursor:
    """Reads records from one chunk payload: buf[pos:end]."""

    __slots__ = ("buf", "pos", "end", "path")

    def __init__(self, buf, pos, end, path):
        self.buf, self.pos, self.end, self.path = buf, pos, end, path

    def varint(self):
        buf, pos, end = self.buf, self.pos, self.end
        if pos >= end:
            _fail(self.path, "varint runs past its chunk", pos)
        b = buf[pos]
        if b < 0x80:
            self.pos = pos + 1
            return b
        value = 0
        shift = 0
        start = pos
        while True:
            if pos >= end:
                _fail(self.path, "varint runs past its chunk", start)
            if pos - start >= 10:
                _fail(self.path, "varint longer than 10 bytes", start)
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if value >> 64:
            _fail(self.path, "varint exceeds 64 bits", start)
        self.pos = pos
        return value

    def take(self, n, what):
        if n > self.end - self.pos:
            _fail(self.path, f"{what} runs past its chunk", self.pos)
        b = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return b

    def more(self):
        return self.pos < self.end


def _varint_at(buf, pos, end, path):
    """Decodes the varint at buf[pos]; returns (value, position after it)."""
    if pos < end:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
    value = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            _fail(path, "varint runs past its chunk", start)
        if pos - start >= 10:
            _fail(path, "varint longer than 10 bytes", start)
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    if value >> 64:
        _fail(path, "varint exceeds 64 bits", start)
    return value, pos


class _ByAddr:
    """A target given by address (version 3), until every node is read."""
    __slots__ = ("addr",)

    def __init__(self, addr):
        self.addr = addr


def _unzigzag(u):
    return (u >> 1) ^ -(u & 1)


def read(path, verify_crc=True):
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, path=str(path), verify_crc=verify_crc)


def parse(data, path="<snapshot>", verify_crc=True):
    snap = Snapshot(path)
    size = len(data)
    snap.file_size = size
    if size == 0:
        _fail(path, "empty file")
    if size < 8 or data[:8] != MAGIC:
        _fail(path, "not a pyheapdiff snapshot (wrong magic)", 0)
    if size < 12:
        _fail(path, "file too short for a header", 0)
    version, header_size = struct.unpack_from("<HH", data, 8)
    if version > FORMAT_VERSION:
        _fail(path, f"format version {version} is newer than {FORMAT_VERSION}", 8)
    if header_size < HEADER_SIZE or header_size > size:
        _fail(path, f"bad header size {header_size}", 10)
    if size < header_size + FOOTER_SIZE:
        _fail(path, "file too short for header and footer (truncated)")
    (pointer_size, addr_shift, py_major, py_minor, py_micro) = struct.unpack_from("<5B", data, 12)
    if pointer_size not in (4, 8):
        _fail(path, f"bad pointer size {pointer_size}", 12)
    flags, pid, start_ns, ts_ns = struct.unpack_from("<IQQQ", data, 20)
    snap.version = version
    snap.header_size = header_size
    snap.pointer_size = pointer_size
    snap.addr_shift = addr_shift
    snap.python = (py_major, py_minor, py_micro)
    snap.flags = flags
    snap.values = bool(flags & HDR_VALUES)
    snap.collected = bool(flags & HDR_COLLECTED)
    snap.pid = pid
    snap.start_time_ns = start_ns
    snap.timestamp_ns = ts_ns

    # footer
    fo = size - FOOTER_SIZE
    fkind, fflags, flen = struct.unpack_from("<IIQ", data, fo)
    if fkind != CHUNK_FOOTER or fflags != 0 or flen != FOOTER_SIZE - CHUNK_HEADER_SIZE:
        _fail(path, "missing footer (truncated file?)", fo)
    (n_nodes, n_edges, total_size, n_strings, n_types, n_roots, crc) = struct.unpack_from(
        "<QQQIIII", data, fo + CHUNK_HEADER_SIZE)
    if data[fo + CHUNK_HEADER_SIZE + 40:fo + FOOTER_SIZE] != END_MAGIC:
        _fail(path, "missing end magic (truncated file?)", fo + CHUNK_HEADER_SIZE + 40)
    if verify_crc:
        actual = crc32c(memoryview(data)[:fo])
        if actual != crc:
            _fail(path, f"CRC mismatch (stored {crc:#010x}, computed {actual:#010x}): the file is damaged")
    snap.crc = crc
    body = fo - header_size
    if n_nodes > MAX_NODES:
        _fail(path, f"too many nodes ({n_nodes})")
    node_min = 2 if version >= VERSION_INLINE else 4  # an inline node takes 2 bytes
    if n_nodes * node_min + n_edges + n_strings + n_types * 3 + n_roots * 4 > body:
        _fail(path, "footer counts larger than the file could hold")

    # chunks
    chunks = {CHUNK_NODES: [], CHUNK_STRINGS: [], CHUNK_TYPES: [], CHUNK_ROOTS: []}
    pos = header_size
    while pos < fo:
        if fo - pos < CHUNK_HEADER_SIZE:
            _fail(path, "chunk header cut short", pos)
        kind, cflags, length = struct.unpack_from("<IIQ", data, pos)
        if cflags != 0:
            _fail(path, f"chunk with non-zero flags {cflags:#x}", pos)
        if kind == CHUNK_FOOTER:
            _fail(path, "a second footer", pos)
        start = pos + CHUNK_HEADER_SIZE
        if length > fo - start:
            _fail(path, "chunk runs past the footer", pos)
        if kind in chunks:
            chunks[kind].append((start, start + length))
        pos = start + length

    buf = data

    # strings
    strings = []
    for start, end in chunks[CHUNK_STRINGS]:
        c = _Cursor(buf, start, end, path)
        while c.more():
            n = c.varint()
            strings.append(c.take(n, "string").decode("utf-8", "surrogateescape"))
    if len(strings) != n_strings:
        _fail(path, f"{len(strings)} strings, footer says {n_strings}")
    snap.strings = strings

    # types
    types = []
    for start, end in chunks[CHUNK_TYPES]:
        c = _Cursor(buf, start, end, path)
        while c.more():
            at = c.pos
            name, node_plus_1, default_size = c.varint(), c.varint(), c.varint()
            if name >= n_strings:
                _fail(path, f"type name string id {name} out of range", at)
            node = node_plus_1 - 1 if node_plus_1 else None
            if node is not None and node >= n_nodes:
                _fail(path, f"type node {node} out of range", at)
            types.append(Type(len(types), strings[name], node, default_size))
    if len(types) != n_types:
        _fail(path, f"{len(types)} types, footer says {n_types}")
    snap.types = types

    # roots
    roots = []
    for start, end in chunks[CHUNK_ROOTS]:
        c = _Cursor(buf, start, end, path)
        while c.more():
            at = c.pos
            kind, node, tid, name_plus_1 = c.varint(), c.varint(), c.varint(), c.varint()
            if not 1 <= kind <= 6:
                _fail(path, f"bad root kind {kind}", at)
            if node >= n_nodes:
                _fail(path, f"root node {node} out of range", at)
            if name_plus_1 > n_strings:
                _fail(path, f"root name string id {name_plus_1 - 1} out of range", at)
            roots.append(Root(kind, node, tid, strings[name_plus_1 - 1] if name_plus_1 else None))
    if len(roots) != n_roots:
        _fail(path, f"{len(roots)} roots, footer says {n_roots}")
    snap.roots = roots

    # nodes, filled by index: version 2's inline nodes come inside the
    # record of the node holding their one reference
    v2 = version >= VERSION_INLINE
    v3 = version >= VERSION_ADDR
    v4 = version >= VERSION_NUMBERS
    by_address = []   # (node, edge position): targets given by address, resolved at the end
    last_addr = 0     # the last of them, >> addr_shift: the next is coded against it
    nodes = [None] * n_nodes
    nrec = 0          # node records so far, top-level and inline
    nxt = 0           # the index of the next top-level record
    discovered = 0
    edges_total = 0
    size_total = 0
    prev = 0
    shift = addr_shift
    ntypes = len(types)
    nstrings = len(strings)
    vslow = _varint_at
    strings_b = [s.encode("utf-8", "surrogateescape") for s in strings]
    # per type id: the sibling's address (>> addr_shift) and its first
    # SIBLING_EDGES resolved edges (see "Siblings" in docs/format.md)
    sib_addr = [0] * ntypes
    sib_edges = [()] * ntypes

    def read_preview(nflags, pos, end, at):
        if not nflags & NODE_PREVIEW:
            return None, pos
        pv, pos = vslow(buf, pos, end, path)
        if pv & 1:
            sid = pv >> 1
            if sid >= nstrings:
                _fail(path, f"preview string id {sid} out of range", at)
            return strings_b[sid], pos
        if v4 and pv & 2:
            kind = pv >> 2
            if kind == PREVIEW_INT:
                z, pos = vslow(buf, pos, end, path)
                return str((z >> 1) ^ -(z & 1)).encode(), pos
            if kind == PREVIEW_FLOAT:
                if end - pos < 8:
                    _fail(path, "float preview runs past its chunk", at)
                return repr(struct.unpack_from("<d", buf, pos)[0]).encode(), pos + 8
            _fail(path, f"preview of unknown kind {kind}", at)
        plen = pv >> (2 if v4 else 1)
        if not 1 <= plen <= PREVIEW_MAX:
            _fail(path, f"bad preview length {plen}", at)
        if plen > end - pos:
            _fail(path, "preview runs past its chunk", at)
        return bytes(buf[pos:pos + plen]), pos + plen

    def read_inline(i, pos, end, at):
        # an inline node: head, address, size, preview; refcount 1, no edges
        nonlocal size_total, nrec
        head, pos = vslow(buf, pos, end, path)
        tid = head >> 3
        if tid >= ntypes:
            _fail(path, f"inline node type id {tid} out of range", at)
        if head & NODE_GC_TRACKED:
            _fail(path, "inline node with GC_TRACKED", at)
        delta, pos = vslow(buf, pos, end, path)
        sib_addr[tid] += (delta >> 1) ^ -(delta & 1)
        m = Node()
        m.index = i
        m.addr = sib_addr[tid] << shift
        m.type_id = tid
        m.type = types[tid].name
        m.flags = head & 7
        if head & NODE_SIZE:
            m.size, pos = vslow(buf, pos, end, path)
        else:
            m.size = types[tid].default_size
        m.refcount = 1
        m.preview, pos = read_preview(head, pos, end, at)
        m.edges = []
        m.inline = True
        nodes[i] = m
        nrec += 1
        size_total += m.size
        return pos
    for start, end in chunks[CHUNK_NODES]:
        pos = start
        while pos < end:
            at = pos
            while nxt < n_nodes and nodes[nxt] is not None:
                nxt += 1     # an inline node took it
            i = nxt
            if i >= n_nodes:
                _fail(path, "more node records than the footer's count", at)
            if i == discovered:
                discovered += 1
            elif i > discovered:
                _fail(path, f"node {i} was never discovered", at)
            head, pos = vslow(buf, pos, end, path)
            tid = head >> 3
            nflags = head & 7
            if tid >= ntypes:
                _fail(path, f"type id {tid} out of range", at)
            delta, pos = vslow(buf, pos, end, path)
            shifted = sib_addr[tid] + ((delta >> 1) ^ -(delta & 1))
            sib_addr[tid] = shifted
            n = Node()
            n.index = i
            n.addr = shifted << shift
            n.type_id = tid
            n.type = types[tid].name
            n.flags = nflags
            if nflags & NODE_SIZE:
                n.size, pos = vslow(buf, pos, end, path)
            else:
                n.size = types[tid].default_size
            n.refcount, pos = vslow(buf, pos, end, path)
            n.preview, pos = read_preview(nflags, pos, end, at)
            nedges, pos = vslow(buf, pos, end, path)
            sib = sib_edges[tid]
            nsib = len(sib)
            edges = []
            append = edges.append
            next_index = 0
            for k in range(nedges):
                if pos < end and buf[pos] < 0x80:
                    eh = buf[pos]
                    pos += 1
                else:
                    eh, pos = vslow(buf, pos, end, path)
                tcode = eh >> 3
                kind = eh & 7
                inline = False
                addr = None
                if v3 and tcode >= 3:   # odd: version 2's back-reference; even: an address
                    if tcode & 1:
                        tcode = (tcode - 1) // 2 + 2
                    else:
                        z = (tcode - 4) // 2
                        last_addr = (last_addr + ((z >> 1) ^ -(z & 1))) & (2**64 - 1)
                        addr = last_addr << shift
                        tcode = None
                if v2 and tcode is not None and tcode >= 1:   # 1: inline node; the others are version 1's + 1
                    if tcode == 1:
                        inline = True
                    else:
                        tcode -= 1
                copied = kind == SIBLING
                if copied:
                    if k >= nsib:
                        _fail(path, f"SIBLING label of edge {k} without a sibling edge", at)
                    payload = sib[k][2]
                    kind = sib[k][1]
                    if kind == INDEX:
                        next_index = payload + 1
                # the target
                if addr is not None:
                    if kind == TYPE:
                        _fail(path, "TYPE edge given by address", at)
                    target = _ByAddr(addr)
                    by_address.append((n, len(edges)))
                elif kind == TYPE:
                    if tcode != 0 or inline:
                        _fail(path, "TYPE edge with a non-zero target code", at)
                    target = types[tid].node
                    if target is None:
                        _fail(path, "TYPE edge without a type node", at)
                elif tcode == 0 or inline:
                    target = discovered
                    discovered += 1
                    if target >= n_nodes:
                        _fail(path, "edge discovers past the node count", at)
                elif tcode == 1:
                    if k >= nsib:
                        _fail(path, f"edge {k} copies a target its sibling does not have", at)
                    target = sib[k][0]
                    if isinstance(target, _ByAddr):
                        _fail(path, f"edge {k} copies a target its sibling gave by address", at)
                else:
                    if tcode - 1 > discovered:
                        _fail(path, "edge points before node 0", at)
                    target = discovered - (tcode - 1)
                # the label's payload
                if kind == VALUE:
                    if not edges:
                        _fail(path, "VALUE edge first in its node", at)
                    append((target, kind, edges[-1][0]))
                elif copied or kind == NONE or kind == KEY or kind == WEAK or kind == TYPE:
                    append((target, kind, payload if copied else None))
                elif kind == INDEX:
                    d, pos = vslow(buf, pos, end, path)
                    next_index += d
                    append((target, kind, next_index))
                    next_index += 1
                elif kind == NAME:
                    sid, pos = vslow(buf, pos, end, path)
                    if sid >= nstrings:
                        _fail(path, f"edge name string id {sid} out of range", at)
                    append((target, kind, strings[sid]))
                else:
                    _fail(path, f"bad edge kind {kind}", at)
                if inline:
                    pos = read_inline(target, pos, end, at)
            if pos > end:
                _fail(path, "node record runs past its chunk", at)
            sib_edges[tid] = edges[:SIBLING_EDGES]
            n.edges = edges
            edges_total += nedges
            size_total += n.size
            nodes[i] = n
            nrec += 1
    if nrec != n_nodes or None in nodes:
        _fail(path, f"{nrec} nodes, footer says {n_nodes}")
    if discovered != n_nodes:
        _fail(path, f"{discovered} nodes discovered, footer says {n_nodes}")
    if edges_total != n_edges:
        _fail(path, f"{edges_total} edges, footer says {n_edges}")
    if size_total != total_size:
        _fail(path, f"total size {size_total}, footer says {total_size}")
    if len({n.addr for n in nodes}) != len(nodes):
        _fail(path, "two nodes have the same address")
    if by_address:
        index = {m.addr: m.index for m in nodes}
        for m, k in by_address:
            t, kind, payload = m.edges[k]
            i = index.get(t.addr)
            if i is None or nodes[i].inline:
                _fail(path, f"edge to {t.addr:#x}: no node there" if i is None else "edge to an inline node")
            m.edges[k] = (i, kind, payload)
            if k + 1 < len(m.edges) and m.edges[k + 1][1] == VALUE:
                vt, vk, _ = m.edges[k + 1]
                m.edges[k + 1] = (vt, vk, i)
    snap.nodes = nodes
    snap.n_by_address = len(by_address)
    snap.n_edges = edges_total
    snap.total_size = size_total
    return snap
