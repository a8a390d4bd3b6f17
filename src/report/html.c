/*
 * html.c - the HTML report: one self-contained document (inline CSS, the
 * leak graph as inline SVG, a few lines of script that only sort tables).
 *
 * Everything is rendered here, server-side: the tables are real HTML and
 * read without script.  Numeric cells carry their exact value in data-v
 * (the sort key) and, for sizes, the exact byte count in a title; the
 * script compares data-v numerically or the cell text by code units, ties
 * keeping the rendered order, and keeps aria-sort on the header in step.
 * Text from snapshots (type names, paths, previews) only ever goes through
 * phd_html_text.  The output depends on the inputs alone (no clock), so
 * one pair of snapshots gives the same bytes every time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/html.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/outfile.h"
#include "pyheapdiff/text.h"

void phd_html_raw(struct phd_html *h, const char *markup)
{
    if (!h->failed && fputs(markup, h->f) == EOF)
        h->failed = 1;
}

void phd_html_rawf(struct phd_html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!h->failed && vfprintf(h->f, fmt, ap) < 0)
        h->failed = 1;
    va_end(ap);
}

void phd_html_text(struct phd_html *h, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t k; *p && !h->failed; p += k) {
        const char *rep = NULL;
        /* one character at a time, strictly: an invalid byte, the reader's
         * NUL (C0 80) and controls HTML does not allow become U+FFFD */
        k = phd_utf8_char(p, n - (size_t)(p - (const unsigned char *)text));
        if (!k) {
            rep = "\xEF\xBF\xBD";
            k = p[0] == 0xC0 && p[1] == 0x80 ? 2 : 1;
        } else if (k == 2 && p[0] == 0xC2 && p[1] < 0xA0) {
            rep = "\xEF\xBF\xBD"; /* C1 controls */
        } else if (k > 1) {
            if (fwrite(p, 1, k, h->f) != k)
                h->failed = 1;
            continue;
        }
        if (!rep)
            switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
                rep = "\xEF\xBF\xBD";
        }
        if (rep ? fputs(rep, h->f) == EOF : fputc(*p, h->f) == EOF)
            h->failed = 1;
    }
}

/* ---- pieces ------------------------------------------------------------ */

static const char *const css[] = {
    ":root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1c2230;--muted:#5d6678;--line:#e2e5ea;"
    "--head:#f8f9fb;--accent:#3451b2;--grow:#c2255c;--shrink:#2b8a3e;--bar:rgba(194,37,92,.12);--chip:#eef1f6;"
    "--shadow:0 1px 2px rgba(16,24,40,.05)}\n",
    "@media (prefers-color-scheme:dark){:root{--bg:#0e1117;--card:#161b24;--fg:#e4e7ee;--muted:#98a2b6;"
    "--line:#283040;--head:#1b212c;--accent:#9db0ff;--grow:#ff8fab;--shrink:#69db7c;--bar:rgba(255,143,171,.16);"
    "--chip:#222a37;--shadow:none}}\n",
    "*{box-sizing:border-box}\n",
    "html{-webkit-text-size-adjust:100%}\n",
    "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,\"Segoe UI\","
    "Roboto,\"Helvetica Neue\",Arial,\"Noto Sans\",sans-serif}\n",
    "main{max-width:1180px;margin:0 auto;padding:28px 20px 40px}\n",
    "a{color:var(--accent)}\n",
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;"
    "font-size:.86em}\n",
    ".top h1{font-size:1.65rem;line-height:1.25;margin:2px 0 6px;letter-spacing:-.01em;overflow-wrap:anywhere}\n",
    ".eyebrow{margin:0;color:var(--muted);font-size:.8rem;font-weight:600;letter-spacing:.08em;"
    "text-transform:uppercase}\n",
    ".sub{margin:0;color:var(--muted);overflow-wrap:anywhere}\n",
    "nav{display:flex;flex-wrap:wrap;gap:6px;margin:14px 0 0}\n",
    "nav a{text-decoration:none;font-size:.85rem;padding:3px 10px;border-radius:999px;background:var(--chip);"
    "color:var(--fg)}\n",
    "nav a:hover{color:var(--accent)}\n",
    "section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;"
    "margin:18px 0;box-shadow:var(--shadow);min-width:0}\n",
    "h2{font-size:1.12rem;margin:0 0 4px}\n",
    "h3{font-size:1rem;margin:0 0 8px;overflow-wrap:anywhere}\n",
    ".note{color:var(--muted);margin:0 0 14px;font-size:.9rem}\n",
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-top:12px}\n",
    ".card{border:1px solid var(--line);border-radius:10px;padding:12px 14px;background:var(--head);min-width:0}\n",
    ".card .k{font-size:.78rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}\n",
    ".card .v{font-size:1.45rem;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums;"
    "overflow-wrap:anywhere}\n",
    ".card .d{font-size:.88rem;color:var(--muted);font-variant-numeric:tabular-nums}\n",
    ".up{color:var(--grow)}.down{color:var(--shrink)}\n",
    ".table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:8px}\n",
    "table{border-collapse:collapse;width:100%;font-size:.9rem}\n",
    "th,td{padding:7px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n",
    "thead th{background:var(--head);font-weight:600;white-space:nowrap;position:sticky;top:0}\n",
    "tbody tr:last-child td{border-bottom:0}\n",
    "tbody tr:hover td,tbody tr:hover th{background:var(--head)}\n",
    "tfoot td{font-weight:650;border-top:2px solid var(--line);border-bottom:0;background:var(--head)}\n",
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n",
    "th.num{text-align:right}\n",
    ".type{min-width:8em}\n",
    /* the type column stays in view while a wide table scrolls */
    "table.sticky tbody th,table.sticky thead th:first-child,table.sticky tfoot td:first-child{position:sticky;"
    "left:0;z-index:1;background:var(--card);box-shadow:inset -1px 0 0 var(--line)}\n",
    "table.sticky thead th:first-child,table.sticky tfoot td:first-child{background:var(--head);z-index:2}\n",
    ".mod{color:var(--muted)}\n",
    /* a bar behind a growth, as wide as its share of the largest one */
    "td.bar{background:linear-gradient(var(--bar),var(--bar)) no-repeat right 4px center/"
    "calc((100% - 8px) * var(--w) / 100) calc(100% - 10px)}\n",
    "th button{position:relative;font:inherit;font-weight:600;color:inherit;background:none;border:0;"
    "padding:2px 4px;margin:-2px -4px;cursor:pointer;border-radius:4px;white-space:nowrap}\n",
    "th button:hover{color:var(--accent)}\n",
    "th button:focus-visible{outline:2px solid var(--accent);outline-offset:1px}\n",
    /* the sort arrow sits beside the title (before it in right-aligned
     * columns), so titles line up with their column */
    "th button::after{content:\"\";position:absolute;left:100%;top:2px;color:var(--accent)}\n",
    "th.num button{padding-left:calc(4px + .8em)}th.num button::after{left:4px}\n",
    "th[aria-sort=ascending] button::after{content:\"\\2191\"}\n",
    "th[aria-sort=descending] button::after{content:\"\\2193\"}\n",
    ".why{padding:14px 0;border-top:1px solid var(--line)}\n",
    ".why:first-of-type{border-top:0;padding-top:4px}\n",
    ".why h3 .count{color:var(--muted);font-weight:400;font-size:.9rem}\n",
    "ol.paths{list-style:none;margin:0;padding:0;display:grid;gap:6px}\n",
    "ol.paths li{display:flex;gap:10px;align-items:flex-start}\n",
    ".times{flex:none;min-width:4.5em;padding-top:2px;text-align:right;font-variant-numeric:tabular-nums;"
    "color:var(--muted)}\n",
    ".path{background:var(--chip);border-radius:6px;padding:3px 8px;overflow-wrap:anywhere;line-height:1.7}\n",
    ".arr{color:var(--muted)}\n",
    ".more{color:var(--muted);font-size:.85rem;margin:6px 0 0}\n",
    ".retainers td.path-cell{min-width:22em}\n",
    ".retainers code{overflow-wrap:anywhere}\n",
    ".sub-h{margin:20px 0 8px}\n",
    "figure.graph{margin:0;background:#fff;color:#111;border:1px solid var(--line);border-radius:10px;"
    "padding:14px;overflow:auto;text-align:center}\n",
    "figure.graph svg{max-width:100%;height:auto}\n",
    "footer{color:var(--muted);font-size:.82rem;text-align:center;margin-top:24px}\n",
    "@media (max-width:640px){main{padding:16px 10px 28px}section{padding:14px 12px;border-radius:10px}"
    ".top h1{font-size:1.3rem}.cards{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}"
    ".card{padding:10px}.card .v{font-size:1.15rem}th,td{padding:6px 8px}"
    "ol.paths li{flex-direction:column;gap:2px}.times{text-align:left;min-width:0}figure.graph{padding:8px}}\n",
    "@media print{body{background:#fff}section{box-shadow:none;break-inside:avoid}nav{display:none}}\n"
};

/* Sorting only: numeric columns by data-v, text by code units; a second
 * click reverses; ties keep the rendered order (data-i). */
static const char script[] =
    "(function(){\n"
    "'use strict';\n"
    "function sortTable(table,col,th){\n"
    "  var num=th.getAttribute('data-type')==='num',cur=th.getAttribute('aria-sort');\n"
    "  var dir=cur==='descending'?1:cur==='ascending'?-1:(num?-1:1);\n"
    "  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "  rows.sort(function(a,b){\n"
    "    var x=a.cells[col],y=b.cells[col],c;\n"
    "    if(num){c=Number(x.getAttribute('data-v'))-Number(y.getAttribute('data-v'));}\n"
    "    else{x=x.textContent;y=y.textContent;c=x<y?-1:x>y?1:0;}\n"
    "    return dir*c||(Number(a.getAttribute('data-i'))-Number(b.getAttribute('data-i')));\n"
    "  });\n"
    "  rows.forEach(function(r){body.appendChild(r);});\n"
    "  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){h.removeAttribute('aria-sort');});\n"
    "  th.setAttribute('aria-sort',dir>0?'ascending':'descending');\n"
    "}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(table){\n"
    "  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){\n"
    "    var b=th.querySelector('button');\n"
    "    if(b)b.addEventListener('click',function(){sortTable(table,col,th);});\n"
    "  });\n"
    "});\n"
    "})();\n";

/* A type name with its module dimmed: <span class=mod>app.</span>Widget. */
static void type_name(struct phd_html *h, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || !dot[1]) {
        phd_html_text(h, name);
        return;
    }
    size_t n = (size_t)(dot + 1 - name);
    char *mod = malloc(n + 1);
    if (!mod) {
        phd_html_text(h, name);
        return;
    }
    memcpy(mod, name, n);
    mod[n] = 0;
    phd_html_raw(h, "<span class=\"mod\">");
    phd_html_text(h, mod);
    phd_html_raw(h, "</span><wbr>");
    phd_html_text(h, dot + 1);
    free(mod);
}

/* A retention path with its arrows marked up; the text is unchanged. */
static void path_text(struct phd_html *h, const char *path)
{
    static const char arrow[] = " → ";
    const char *p = path, *a;
    phd_html_raw(h, "<code class=\"path\">");
    while ((a = strstr(p, arrow))) {
        size_t n = (size_t)(a - p);
        char *seg = malloc(n + 1);
        if (!seg) {
            h->failed = 1;
            return;
        }
        memcpy(seg, p, n);
        seg[n] = 0;
        phd_html_text(h, seg);
        free(seg);
        phd_html_raw(h, "<span class=\"arr\"> → </span>");
        p = a + sizeof arrow - 1;
    }
    phd_html_text(h, p);
    phd_html_raw(h, "</code>");
}

/* A column of a sortable table: its title and how it sorts ("num" by
 * data-v, "text" by the text; NULL: not sortable). */
struct column {
    const char *title, *type;
};

static const char table_close[] = "</tbody>\n</table>\n</div>\n";

/* Opens a table in its scrolling wrapper, up to the <tbody>; the rows
 * come sorted by column `sorted`, descending. */
static void table_open(struct phd_html *h, const char *id, const char *cls, const struct column *cols, int n,
                       int sorted)
{
    phd_html_rawf(h, "<div class=\"table-wrap\">\n<table class=\"sortable%s%s\" id=\"%s\">\n<thead><tr>",
                  cls ? " " : "", cls ? cls : "", id);
    for (int c = 0; c < n; c++) {
        int isnum = cols[c].type && strcmp(cols[c].type, "num") == 0;
        phd_html_rawf(h, "<th scope=\"col\"%s", isnum ? " class=\"num\"" : "");
        if (cols[c].type)
            phd_html_rawf(h, " data-type=\"%s\"%s><button type=\"button\">%s</button></th>", cols[c].type,
                          c == sorted ? " aria-sort=\"descending\"" : "", cols[c].title);
        else
            phd_html_rawf(h, ">%s</th>", cols[c].title);
    }
    phd_html_raw(h, "</tr></thead>\n<tbody>\n");
}

static void td_percent(struct phd_html *h, uint64_t part, uint64_t total)
{
    double pct = total ? 100.0 * (double)part / (double)total : 0.0;
    phd_html_rawf(h, "<td class=\"num\" data-v=\"%.4f\">%.1f%%</td>", pct, pct);
}

static void td_count(struct phd_html *h, uint64_t n)
{
    char b[48];
    phd_html_rawf(h, "<td class=\"num\" data-v=\"%" PRIu64 "\">%s</td>", n, phd_fmt_count(n, b, sizeof b));
}

static void td_size(struct phd_html *h, uint64_t n)
{
    char b[48], e[48];
    phd_html_rawf(h, "<td class=\"num\" data-v=\"%" PRIu64 "\" title=\"%s bytes\">%s</td>", n,
                  phd_fmt_count(n, e, sizeof e), phd_fmt_size(n, b, sizeof b));
}

static const char *sign_class(int64_t d)
{
    return d > 0 ? "num up" : d < 0 ? "num down" : "num";
}

static void td_delta_count(struct phd_html *h, int64_t d)
{
    char b[48];
    phd_html_rawf(h, "<td class=\"%s\" data-v=\"%" PRId64 "\">%s</td>", sign_class(d), d,
                  phd_fmt_delta_count(d, b, sizeof b));
}

/* A size change; with max > 0, a bar behind it scaled to max. */
static void td_delta_size(struct phd_html *h, int64_t d, uint64_t max)
{
    char b[48], e[48];
    phd_html_rawf(h, "<td class=\"%s%s\" data-v=\"%" PRId64 "\" title=\"%s bytes\"", sign_class(d),
                  max && d > 0 ? " bar" : "", d, phd_fmt_delta_count(d, e, sizeof e));
    if (max && d > 0)
        phd_html_rawf(h, " style=\"--w:%.1f\"", 100.0 * (double)d / (double)max);
    phd_html_rawf(h, ">%s</td>", phd_fmt_delta_size(d, b, sizeof b));
}

/* A summary card: key, value (exact in data-v), a detail line coloured by
 * the sign of delta. */
static void card(struct phd_html *h, const char *key, const char *value, int64_t exact, const char *value_title,
                 const char *detail, int64_t delta)
{
    phd_html_raw(h, "<div class=\"card\"><div class=\"k\">");
    phd_html_text(h, key);
    phd_html_rawf(h, "</div><div class=\"v\" data-v=\"%" PRId64 "\"", exact);
    if (value_title) {
        phd_html_raw(h, " title=\"");
        phd_html_text(h, value_title);
        phd_html_raw(h, "\"");
    }
    phd_html_raw(h, ">");
    phd_html_text(h, value);
    phd_html_rawf(h, "</div><div class=\"d%s\">", delta > 0 ? " up" : delta < 0 ? " down" : "");
    phd_html_text(h, detail);
    phd_html_raw(h, "</div></div>\n");
}

static void side_text(struct phd_html *h, const struct phd_report_side *s)
{
    char t[64];
    phd_html_raw(h, "<span class=\"mono\">");
    phd_html_text(h, s->label);
    phd_html_rawf(h, "</span> (pid %" PRIu32 ", %s)", s->pid, phd_fmt_time(s->timestamp_ns, t, sizeof t));
}

/* ---- sections ---------------------------------------------------------- */

static void summary(struct phd_html *h, const struct phd_report *r)
{
    const struct phd_report_side *a = &r->before, *b = &r->after;
    char v[96], x[96], y[96], d[200], e[96];
    int64_t dobj = (int64_t)(b->objects - a->objects), dsize = (int64_t)(b->total_size - a->total_size);
    phd_html_raw(h, "<section id=\"summary\" aria-labelledby=\"h-summary\">\n<h2 id=\"h-summary\">Summary</h2>\n"
                    "<p class=\"note\">");
    side_text(h, a);
    phd_html_raw(h, " → ");
    side_text(h, b);
    phd_html_text(h, r->diff->matched ? ": one process, objects matched by address."
                                      : ": different processes, compared by counts and sizes.");
    phd_html_raw(h, "</p>\n<div class=\"cards\">\n");

    phd_fmt_count(b->objects, v, sizeof v);
    phd_fmt_delta_count(dobj, x, sizeof x);
    snprintf(d, sizeof d, "%s since before (%s)", x, phd_fmt_count(a->objects, y, sizeof y));
    card(h, "Objects after", v, (int64_t)b->objects, NULL, d, dobj);

    phd_fmt_size(b->total_size, v, sizeof v);
    snprintf(e, sizeof e, "%s bytes", phd_fmt_count(b->total_size, x, sizeof x));
    phd_fmt_delta_size(dsize, x, sizeof x);
    snprintf(d, sizeof d, "%s since before (%s)", x, phd_fmt_size(a->total_size, y, sizeof y));
    card(h, "Heap after", v, (int64_t)b->total_size, e, d, dsize);

    size_t grew = 0;
    for (size_t k = 0; k < r->diff->n; k++)
        grew += r->diff->rows[k].count_b > r->diff->rows[k].count_a;
    snprintf(v, sizeof v, "%zu", grew);
    snprintf(d, sizeof d, "of %zu types in either snapshot", r->diff->n);
    card(h, "Types that grew", v, (int64_t)grew, NULL, d, 0);

    /* the first row is the largest growth in size, when anything grew */
    if (r->n_rows && r->diff->rows[r->rows[0]].size_b > r->diff->rows[r->rows[0]].size_a) {
        const struct phd_diff_row *top = &r->diff->rows[r->rows[0]];
        int64_t tc = (int64_t)(top->count_b - top->count_a), ts = (int64_t)(top->size_b - top->size_a);
        phd_fmt_delta_count(tc, x, sizeof x);
        snprintf(d, sizeof d, "%s objects, %s", x, phd_fmt_delta_size(ts, y, sizeof y));
        const char *dot = strrchr(top->name, '.');
        card(h, "Largest growth", dot && dot[1] ? dot + 1 : top->name, ts, top->name, d, ts);
    }
    /* the first finding: what leaked, by what it retains */
    if (r->why_matched && r->n_why && !r->why[0].inside) {
        const struct phd_report_why *w = &r->why[0];
        const char *dot = strrchr(w->type, '.');
        snprintf(d, sizeof d, "%s new objects retaining %s", phd_fmt_count(w->objects, x, sizeof x),
                 phd_fmt_size(w->retained, y, sizeof y));
        card(h, "Leading leak", dot && dot[1] ? dot + 1 : w->type, (int64_t)w->retained, w->type, d,
             (int64_t)w->retained);
    }
    phd_html_raw(h, "</div>\n</section>\n");
}

/* A row of the growth table; its first cell is a row header (<th
 * scope="row">) or, in the total row, a plain cell. */
static void diff_row(struct phd_html *h, const struct phd_diff_row *w, int matched, uint64_t max, int row_header)
{
    phd_html_raw(h, row_header ? "<th scope=\"row\" class=\"type\">" : "<td class=\"type\">");
    type_name(h, w->name);
    phd_html_raw(h, row_header ? "</th>" : "</td>");
    td_count(h, w->count_a);
    td_count(h, w->count_b);
    td_delta_count(h, (int64_t)(w->count_b - w->count_a));
    td_size(h, w->size_a);
    td_size(h, w->size_b);
    td_delta_size(h, (int64_t)(w->size_b - w->size_a), max);
    if (matched) {
        td_count(h, w->new_);
        td_count(h, w->freed);
    }
}

static void growth(struct phd_html *h, const struct phd_report *r)
{
    static const struct column cols[] = {
        {"type", "text"},       {"count before", "num"}, {"count after", "num"}, {"Δcount", "num"},
        {"size before", "num"}, {"size after", "num"},   {"Δsize", "num"},       {"new", "num"},
        {"freed", "num"},
    };
    const struct phd_diff *d = r->diff;
    int ncols = d->matched ? 9 : 7;
    uint64_t max = 0;
    for (size_t k = 0; k < r->n_rows; k++) {
        const struct phd_diff_row *w = &d->rows[r->rows[k]];
        if (w->size_b > w->size_a && w->size_b - w->size_a > max)
            max = w->size_b - w->size_a;
    }
    phd_html_raw(h, "<section id=\"growth\" aria-labelledby=\"h-growth\">\n<h2 id=\"h-growth\">Growth by type</h2>\n"
                    "<p class=\"note\">Count and size of each type before and after, largest growth in size first");
    phd_html_raw(h, d->matched ? "; <em>new</em> and <em>freed</em> count objects matched by address" : "");
    phd_html_raw(h, ". Select a column header to sort.</p>\n");
    if (!r->n_rows) {
        phd_html_raw(h, "<p>No type changed.</p>\n</section>\n");
        return;
    }
    table_open(h, "diff-table", "sticky", cols, ncols, 6);
    for (size_t k = 0; k < r->n_rows; k++) {
        phd_html_rawf(h, "<tr data-i=\"%zu\">", k);
        diff_row(h, &d->rows[r->rows[k]], d->matched, max, 1);
        phd_html_raw(h, "</tr>\n");
    }
    phd_html_raw(h, "</tbody>\n<tfoot><tr>");
    diff_row(h, &d->total, d->matched, 0, 0);
    phd_html_raw(h, "</tr></tfoot>\n</table>\n</div>\n");
    if (r->omitted_rows)
        phd_html_rawf(h, "<p class=\"more\">%zu more changed type%s not shown (<code>--top 0</code> shows all); the "
                         "total counts every type.</p>\n",
                      r->omitted_rows, r->omitted_rows == 1 ? "" : "s");
    phd_html_raw(h, "</section>\n");
}

static void why(struct phd_html *h, const struct phd_report *r)
{
    char b[48], c[48];
    phd_html_raw(h, "<section id=\"why\" aria-labelledby=\"h-why\">\n<h2 id=\"h-why\">Why they are alive</h2>\n"
                    "<p class=\"note\">");
    if (r->why_matched)
        phd_html_raw(h, "The objects new in the after snapshot (matched by address) that are still retained, by "
                        "type, the type that retains most first, as <code>pyheapdiff leaks</code> ranks them: the "
                        "dicts, strs and closures inside new objects of user and third-party types count for "
                        "those types. For each, the shortest reference paths from the roots (modules first) to its "
                        "new objects; identical paths are grouped, list indices shown as <code>[*]</code>.</p>\n");
    else
        phd_html_raw(h, "The snapshots come from different processes, so objects cannot be matched by address: "
                        "the types that grew, user and third-party types first, each with the shortest reference "
                        "paths from the roots to all its instances in the after snapshot; identical paths are "
                        "grouped, list indices shown as <code>[*]</code>.</p>\n");
    if (!r->n_why)
        phd_html_raw(h, r->why_matched ? "<p>Nothing new is still retained.</p>\n" : "<p>No type grew.</p>\n");
    for (size_t k = 0; k < r->n_why; k++) {
        const struct phd_report_why *w = &r->why[k];
        phd_html_raw(h, "<article class=\"why\">\n<h3>");
        type_name(h, w->type);
        if (w->all_instances)
            phd_html_rawf(h, " <span class=\"count\">%s object%s, %s</span></h3>\n",
                          phd_fmt_count(w->objects, b, sizeof b), w->objects == 1 ? "" : "s",
                          r->why_matched ? "none new and retained" : "not grown");
        else if (r->why_matched)
            phd_html_rawf(h, " <span class=\"count\">%s new object%s, %s retained</span></h3>\n",
                          phd_fmt_count(w->objects, b, sizeof b), w->objects == 1 ? "" : "s",
                          phd_fmt_size(w->retained, c, sizeof c));
        else
            phd_html_rawf(h, " <span class=\"count\">%s objects, %s in the after snapshot</span></h3>\n",
                          phd_fmt_delta_count(w->growth, b, sizeof b), phd_fmt_count(w->objects, c, sizeof c));
        if (w->inside) {
            phd_html_raw(h, "<p class=\"more\">All inside new ");
            type_name(h, w->inside);
            phd_html_raw(h, " objects: their contents.</p>\n");
        }
        if (!w->n_paths)
            phd_html_raw(h, "<p class=\"more\">No root reaches them (garbage awaiting collection).</p>\n");
        else
            phd_html_raw(h, "<ol class=\"paths\">\n");
        for (size_t i = 0; i < w->n_paths; i++) {
            phd_html_rawf(h, "<li><span class=\"times\">%s ×</span>", phd_fmt_count(w->paths[i].count, b, sizeof b));
            path_text(h, w->paths[i].path);
            phd_html_raw(h, "</li>\n");
        }
        if (w->n_paths)
            phd_html_raw(h, "</ol>\n");
        if (w->more_paths)
            phd_html_rawf(h, "<p class=\"more\">%s more path group%s.</p>\n",
                          phd_fmt_count(w->more_paths, b, sizeof b), w->more_paths == 1 ? "" : "s");
        phd_html_raw(h, "</article>\n");
    }
    phd_html_raw(h, "</section>\n");
}

static void retainers(struct phd_html *h, const struct phd_report *r)
{
    uint64_t total = r->after.total_size;
    phd_html_raw(h, "<section id=\"retainers\" aria-labelledby=\"h-retainers\">\n"
                    "<h2 id=\"h-retainers\">Biggest retainers</h2>\n"
                    "<p class=\"note\">Objects of the after snapshot with the largest retained size: the memory that "
                    "would be freed with them (everything they dominate).</p>\n");
    if (r->n_retainers) {
        static const struct column cols[] = {
            {"retained", "num"}, {"% of heap", "num"}, {"object", "text"}, {"path from a root", NULL}};
        table_open(h, "retainers-table", "retainers", cols, 4, 0);
        for (size_t k = 0; k < r->n_retainers; k++) {
            const struct phd_report_retainer *o = &r->retainers[k];
            char sz[48];
            phd_html_rawf(h, "<tr data-i=\"%zu\">", k);
            td_size(h, o->retained);
            td_percent(h, o->retained, total);
            phd_html_raw(h, "<td class=\"type\">");
            phd_html_text(h, o->desc);
            phd_html_rawf(h, " <span class=\"mod mono\">0x%" PRIx64 ", %s</span></td><td class=\"path-cell\">",
                          o->address, phd_fmt_size(o->size, sz, sizeof sz));
            path_text(h, o->path);
            phd_html_raw(h, "</td></tr>\n");
        }
        phd_html_raw(h, table_close);
    }
    if (r->n_types) {
        static const struct column cols[] = {
            {"type", "text"}, {"retained", "num"}, {"% of heap", "num"}, {"top-level instances", "num"}};
        phd_html_raw(h, "<h3 class=\"sub-h\">Retained per type</h3>\n<p class=\"note\">What the instances of each type "
                        "retain together, an instance inside another of its type counted once.</p>\n");
        table_open(h, "types-table", "sticky", cols, 4, 1);
        for (size_t k = 0; k < r->n_types; k++) {
            const struct phd_report_type *t = &r->types[k];
            phd_html_rawf(h, "<tr data-i=\"%zu\"><th scope=\"row\" class=\"type\">", k);
            type_name(h, t->type);
            phd_html_raw(h, "</th>");
            td_size(h, t->retained);
            td_percent(h, t->retained, total);
            td_count(h, t->instances);
            phd_html_raw(h, "</tr>\n");
        }
        phd_html_raw(h, table_close);
    }
    phd_html_raw(h, "</section>\n");
}

static void graph(struct phd_html *h, const struct phd_report *r)
{
    phd_html_raw(h, "<section id=\"graph\" aria-labelledby=\"h-graph\">\n<h2 id=\"h-graph\">Leak graph");
    if (r->graph_type) {
        phd_html_raw(h, ": ");
        type_name(h, r->graph_type);
    }
    phd_html_raw(h, "</h2>\n<p class=\"note\">");
    if (r->svg) {
        phd_html_raw(h, r->graph_new ? "The retention paths from the roots to a few of its new objects in the "
                                       "after snapshot (the first finding of <a href=\"#why\">Why they are "
                                       "alive</a>), as <code>pyheapdiff graph --path --id …</code> draws them"
                                     : "The retention paths from the roots to a few instances in the after "
                                       "snapshot, as <code>pyheapdiff graph --path --type ");
        if (!r->graph_new) {
            phd_html_text(h, r->graph_type ? r->graph_type : "");
            phd_html_raw(h, "</code> draws them");
        }
        phd_html_raw(h, ": chosen objects red, roots boxed, edges labelled with the "
                        "reference.</p>\n<figure class=\"graph\" role=\"img\" aria-label=\"");
        phd_html_text(h, "reference graph of ");
        phd_html_text(h, r->graph_type ? r->graph_type : "");
        phd_html_raw(h, "\">\n");
        /* Graphviz's XML prolog, DOCTYPE and comments go: inline SVG
         * starts at its root element */
        const char *svg = strstr(r->svg, "<svg");
        phd_html_raw(h, svg ? svg : "");
        phd_html_raw(h, "</figure>\n");
    } else {
        phd_html_text(h, r->graph_note ? r->graph_note : "No graph.");
        phd_html_raw(h, "</p>\n");
    }
    phd_html_raw(h, "</section>\n");
}

int phd_report_html(const struct phd_report *r, FILE *f)
{
    struct phd_html h = {f, 0};
    phd_html_raw(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"color-scheme\" content=\"light dark\">\n<meta name=\"generator\" content=\"pyheapdiff ");
    phd_html_text(&h, r->version);
    phd_html_raw(&h, "\">\n<title>");
    phd_html_text(&h, r->title);
    phd_html_raw(&h, "</title>\n<style>\n");
    for (size_t k = 0; k < sizeof css / sizeof *css; k++)
        phd_html_raw(&h, css[k]);
    phd_html_raw(&h, "</style>\n</head>\n<body>\n<main>\n<header class=\"top\">\n<p class=\"eyebrow\">pyheapdiff "
                     "report</p>\n<h1>");
    phd_html_text(&h, r->title);
    phd_html_raw(&h, "</h1>\n<p class=\"sub\">What grew between two heap snapshots, why it is alive and what holds "
                     "the memory.</p>\n<nav aria-label=\"sections\"><a href=\"#summary\">Summary</a>"
                     "<a href=\"#growth\">Growth by type</a><a href=\"#why\">Why they are alive</a>"
                     "<a href=\"#retainers\">Biggest retainers</a><a href=\"#graph\">Leak graph</a></nav>\n"
                     "</header>\n");
    summary(&h, r);
    growth(&h, r);
    why(&h, r);
    retainers(&h, r);
    graph(&h, r);
    phd_html_raw(&h, "<footer>Made by pyheapdiff ");
    phd_html_text(&h, r->version);
    phd_html_raw(&h, " from ");
    phd_html_text(&h, r->before.label);
    phd_html_raw(&h, " and ");
    phd_html_text(&h, r->after.label);
    phd_html_raw(&h, ".</footer>\n</main>\n<script>\n");
    phd_html_raw(&h, script);
    phd_html_raw(&h, "</script>\n</body>\n</html>\n");
    return h.failed || ferror(f) ? -1 : 0;
}

int phd_report_html_file(const struct phd_report *r, const char *path, struct phd_error *err)
{
    struct phd_outfile of;
    if (phd_outfile_open(&of, path, PHD_OUTFILE_STDOUT, err) < 0)
        return -1;
    FILE *f = phd_outfile_stream(&of, err);
    if (!f) {
        phd_outfile_abort(&of);
        return -1;
    }
    if (phd_report_html(r, f) < 0) {
        int e = errno ? errno : EIO;
        phd_outfile_abort(&of);
        return phd_error_set(err, "%s: cannot write: %s", path, strerror(e));
    }
    return phd_outfile_commit(&of, err) < 0 ? -1 : 0;
}
