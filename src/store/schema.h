/*
 * schema.h - the parts of the database schema (docs/sqlite-schema.md) that
 * a loaded database and the in-memory database over snapshot files
 * (snapvtab.c) share word for word: the kind tables and the views.
 */
#ifndef PHD_STORE_SCHEMA_H
#define PHD_STORE_SCHEMA_H

#define PHD_SCHEMA_KINDS_SQL \
    "CREATE TABLE label_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);\n" \
    "INSERT INTO label_kinds VALUES (0,'none'),(1,'index'),(2,'key'),(3,'value'),(4,'name'),(5,'weak')," \
    "(6,'type');\n" \
    "CREATE TABLE root_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);\n" \
    "INSERT INTO root_kinds VALUES (1,'modules'),(2,'sys'),(3,'builtins'),(4,'interpreter'),(5,'thread')," \
    "(6,'frame');\n"

#define PHD_SCHEMA_VIEWS_SQL \
    "CREATE VIEW objects_v AS\n" \
    "  SELECT o.id, o.snapshot, o.id & 4294967295 AS node, printf('0x%x', o.address) AS address,\n" \
    "         s.text AS type, o.size, o.refcount, (o.flags & 1) AS gc_tracked, o.preview\n" \
    "  FROM objects o JOIN strings s ON s.id = o.type;\n" \
    "CREATE VIEW edges_v AS\n" \
    "  SELECT e.src, e.seq, e.dst, k.name AS kind,\n" \
    "         CASE e.kind WHEN 1 THEN '[' || e.label || ']'\n" \
    "                     WHEN 2 THEN '<key>'\n" \
    "                     WHEN 3 THEN '[' || coalesce(quote(ko.preview), '?') || ']'\n" \
    "                     WHEN 4 THEN '.' || ls.text\n" \
    "                     WHEN 5 THEN '<weak>'\n" \
    "                     WHEN 6 THEN '.__class__' END AS label\n" \
    "  FROM edges e JOIN label_kinds k ON k.kind = e.kind\n" \
    "  LEFT JOIN objects ko ON e.kind = 3 AND ko.id = e.label\n" \
    "  LEFT JOIN strings ls ON e.kind = 4 AND ls.id = e.label;\n"

#endif
