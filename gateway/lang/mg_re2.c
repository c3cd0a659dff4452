/* mg_re2: the RE2 parser, following Go's regexp/syntax (parse.go) case by
 * case so that a pattern Prometheus would refuse is refused here, and
 * emitting PCRE2 syntax as it goes. */
#include "mg_re2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_utf8.h"

/* Go's limit on repeat counts, alone and multiplied through nesting. */
#define MAX_REPEAT 1000
/* How much of the pattern a message quotes. */
#define QUOTE_MAX 40

/* RE2's \s is [\t\n\f\r ]; PCRE2's also takes \v, so both are spelt out. */
#define SPACE_CHARS "\\t\\n\\f\\r "
#define NOT_SPACE_CHARS "\\x{0}-\\x{8}\\x{b}\\x{e}-\\x{1f}\\x{21}-\\x{10ffff}"

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_word(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

static int unhex(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int quote_len(size_t n)
{
    return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

enum { NONE, ITEM, ASSERT };

struct frame {
    size_t at;  /* where the group starts in out */
    uint32_t w; /* the parent's heaviest item so far */
};

struct tr {
    const char *s;
    size_t n, i;
    struct mg_rebuf out;
    char *why;
    size_t whylen;
    int nomem;
    uint32_t ncap;
    struct mg_rebuf names; /* struct mg_re2_name records */
    struct mg_rebuf namebytes;
    /* What a quantifier here would repeat: nothing, an item, or an
     * assertion that PCRE2 can repeat only inside a group. */
    int atom;
    size_t atom_at;
    /* The product of the counted repeats around the innermost item, which
     * Go caps at 1000 (repeatIsValid). */
    uint32_t atom_w;
    uint32_t cur_w;
    /* The last token was a quantifier: RE2 refuses a second one. */
    int repeated;
    size_t rep_from;
    struct frame *stack;
    size_t depth;
};

__attribute__((format(printf, 2, 3)))
static int bad(struct tr *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, t->whylen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void put(struct tr *t, const char *s, size_t n)
{
    if (mg_rebuf_add(&t->out, s, n) < 0)
        t->nomem = 1;
}

static void puts_(struct tr *t, const char *s)
{
    put(t, s, strlen(s));
}

/* A character from an escape: plain when alphanumeric, else as \x{...} so
 * that PCRE2 reads it literally in and out of classes. */
static void put_cp(struct tr *t, uint32_t cp)
{
    char b[16];
    if (cp < 0x80 && (is_alpha((int)cp) || is_digit((int)cp))) {
        b[0] = (char)cp;
        put(t, b, 1);
        return;
    }
    int n = snprintf(b, sizeof(b), "\\x{%x}", (unsigned)cp);
    put(t, b, (size_t)n);
}

/* A character as written in the pattern, outside a class. */
static void put_raw(struct tr *t, const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    if (n == 1 && c > 0x20 && c < 0x7f && !is_word(c))
        put(t, "\\", 1);
    put(t, s, n);
}

static void insert(struct tr *t, size_t at, const char *s, size_t n)
{
    if (mg_rebuf_add(&t->out, s, n) < 0) {
        t->nomem = 1;
        return;
    }
    memmove(t->out.p + at + n, t->out.p + at, t->out.len - n - at);
    memcpy(t->out.p + at, s, n);
}

static void fold(struct tr *t)
{
    if (t->atom != NONE && t->atom_w > t->cur_w)
        t->cur_w = t->atom_w;
}

static void set_atom(struct tr *t, int kind)
{
    fold(t);
    t->atom = kind;
    t->atom_at = t->out.len;
    t->atom_w = 1;
}

static int open_group(struct tr *t, const char *text, size_t len,
                      size_t next)
{
    if (t->depth >= MG_RE2_MAX_NEST)
        return bad(t, "expression nests too deeply");
    fold(t);
    t->stack[t->depth].at = t->out.len;
    t->stack[t->depth].w = t->cur_w;
    t->depth++;
    t->cur_w = 0;
    t->atom = NONE;
    put(t, text, len);
    t->i = next;
    return 0;
}

static int close_group(struct tr *t)
{
    if (t->depth == 0)
        return bad(t, "unexpected ): `%.*s`", quote_len(t->n), t->s);
    fold(t);
    uint32_t w = t->cur_w;
    t->depth--;
    t->cur_w = t->stack[t->depth].w;
    t->atom = ITEM;
    t->atom_at = t->stack[t->depth].at;
    t->atom_w = w;
    put(t, ")", 1);
    t->i++;
    return 0;
}

static int add_name(struct tr *t, const char *name, size_t len)
{
    struct mg_re2_name g = {t->ncap, (uint32_t)t->namebytes.len, (uint32_t)len};
    if (mg_rebuf_add(&t->namebytes, name, len) < 0 ||
        mg_rebuf_add(&t->names, &g, sizeof(g)) < 0) {
        t->nomem = 1;
        return -ENOMEM;
    }
    return 0;
}

/* Why Go refuses a "(?" group, named after the PCRE feature it would be. */
static int bad_group(struct tr *t, size_t i, size_t j)
{
    const char *s = t->s + i;
    char c = i + 2 < t->n ? s[2] : 0;
    char d = i + 3 < t->n ? s[3] : 0;
    if (c == '=' || c == '!')
        return bad(t, "lookahead `(?%c` is not supported", c);
    if (c == '>')
        return bad(t, "atomic groups `(?>` are not supported");
    if (c == '|')
        return bad(t, "branch reset `(?|` is not supported");
    if (c == '#')
        return bad(t, "comments `(?#` are not supported");
    if (c == '(')
        return bad(t, "conditionals `(?(` are not supported");
    if (c == 'P' && d == '=')
        return bad(t, "backreferences `(?P=` are not supported");
    if (c == 'R' || c == '&' || c == '+' || is_digit(c) ||
        (c == 'P' && d == '>') || (c == '-' && is_digit(d)))
        return bad(t, "recursion `(?%c` is not supported", c);
    if (c == '\'')
        return bad(t, "named groups as `(?'name'` are not supported");
    return bad(t, "invalid or unsupported Perl syntax: `%.*s`",
               quote_len(j - i), s);
}

/* Go's parsePerlFlags: named groups, flags, non-capturing groups. */
static int perl_group(struct tr *t)
{
    const char *s = t->s;
    size_t i = t->i, n = t->n, rest = n - i;
    int with_p = rest > 4 && s[i + 2] == 'P' && s[i + 3] == '<';
    int with_name = rest > 3 && s[i + 2] == '<';

    if (with_name && (s[i + 3] == '=' || s[i + 3] == '!'))
        return bad(t, "lookbehind `(?<%c` is not supported", s[i + 3]);
    if (with_p || with_name) {
        size_t from = i + (with_p ? 4 : 3);
        const char *end = memchr(s + i, '>', n - i);
        if (!end)
            return bad(t, "invalid named capture: `%.*s`",
                       quote_len(rest), s + i);
        size_t len = (size_t)(end - (s + from));
        for (size_t k = 0; k < len; k++)
            if (!is_word((unsigned char)s[from + k]))
                len = 0;
        if (len == 0)
            return bad(t, "invalid named capture: `%.*s`",
                       quote_len((size_t)(end - (s + i)) + 1), s + i);
        /* The group goes to PCRE2 unnamed: the names live in our table, so
         * PCRE2's rules (no leading digit, no duplicates) do not apply. */
        t->ncap++;
        if (add_name(t, s + from, len) < 0)
            return -ENOMEM;
        return open_group(t, "(", 1, (size_t)(end - s) + 1);
    }

    size_t j = i + 2;
    int neg = 0, saw = 0;
    while (j < n) {
        char c = s[j++];
        switch (c) {
        case 'i':
        case 'm':
        case 's':
        case 'U':
            saw = 1;
            continue;
        case '-':
            if (neg)
                return bad_group(t, i, j);
            neg = 1;
            saw = 0;
            continue;
        case ':':
        case ')':
            if (neg && !saw)
                return bad_group(t, i, j);
            if (c == ':')
                return open_group(t, s + i, j - i, j);
            /* Flags alone change the rest of the group; they are nothing a
             * quantifier could repeat. */
            fold(t);
            t->atom = NONE;
            put(t, s + i, j - i);
            t->i = j;
            return 0;
        default:
            return bad_group(t, i, j);
        }
    }
    return bad_group(t, i, j);
}

/* Go's parseEscape: an escape that stands for one character. */
static int escape_char(struct tr *t, size_t j, uint32_t *cp, size_t *next)
{
    const char *s = t->s;
    size_t n = t->n;
    if (j + 1 >= n)
        return bad(t, "trailing backslash at end of expression");
    unsigned char c = (unsigned char)s[j + 1];
    size_t k = j + 2;
    if (c < 0x80 && !is_alpha(c) && !is_digit(c)) {
        *cp = c;
        *next = k;
        return 0;
    }
    switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        /* A lone digit is a backreference; with more digits, octal. */
        if (k >= n || s[k] < '0' || s[k] > '7')
            break;
        /* fallthrough */
    case '0': {
        uint32_t r = c - '0';
        for (int d = 1; d < 3 && k < n && s[k] >= '0' && s[k] <= '7'; d++)
            r = r * 8 + (uint32_t)(s[k++] - '0');
        *cp = r;
        *next = k;
        return 0;
    }
    case 'x':
        if (k < n && s[k] == '{') {
            uint32_t r = 0;
            size_t m = k + 1, nhex = 0;
            while (m < n && unhex(s[m]) >= 0 && r <= 0x10ffff) {
                r = r * 16 + (uint32_t)unhex(s[m++]);
                nhex++;
            }
            if (nhex && r <= 0x10ffff && m < n && s[m] == '}') {
                *cp = r;
                *next = m + 1;
                return 0;
            }
            k = m < n ? m + 1 : m;
        } else if (k + 1 < n && unhex(s[k]) >= 0 && unhex(s[k + 1]) >= 0) {
            *cp = (uint32_t)(unhex(s[k]) * 16 + unhex(s[k + 1]));
            *next = k + 2;
            return 0;
        } else {
            k = k + 1 < n ? k + 2 : n;
        }
        return bad(t, "invalid escape sequence: `%.*s`", quote_len(k - j),
                   s + j);
    case 'a': *cp = '\a'; *next = k; return 0;
    case 'f': *cp = '\f'; *next = k; return 0;
    case 'n': *cp = '\n'; *next = k; return 0;
    case 'r': *cp = '\r'; *next = k; return 0;
    case 't': *cp = '\t'; *next = k; return 0;
    case 'v': *cp = '\v'; *next = k; return 0;
    default:
        break;
    }
    if (is_digit(c) || c == 'k' || c == 'g')
        return bad(t, "backreferences `\\%c` are not supported", c);
    uint32_t u;
    size_t len = mg_utf8_next(s + j + 1, n - j - 1, &u);
    return bad(t, "invalid escape sequence: `\\%.*s`", (int)len, s + j + 1);
}

/* The names Go's \p accepts: "Any", unicode.Categories and unicode.Scripts
 * (Go 1.21, Unicode 15). PCRE2 would also take other spellings ("greek"),
 * its own classes ("Xan", "L&") and binary properties ("Alphabetic"). */
static const char *const unicode_names[] = {
    "Any", "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M",
    "Mc", "Me", "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi",
    "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs", "Adlam",
    "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan",
    "Balinese", "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki",
    "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid",
    "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma", "Cham",
    "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot",
    "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru",
    "Dogra", "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic",
    "Ethiopic", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek",
    "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul",
    "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana",
    "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi",
    "Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada", "Katakana",
    "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki",
    "Khudawadi", "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B",
    "Lisu", "Lycian", "Lydian", "Mahajani", "Makasar", "Malayalam", "Mandaic",
    "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin", "Meetei_Mayek",
    "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao",
    "Modi", "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean",
    "Nag_Mundari", "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu",
    "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian",
    "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian",
    "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Oriya",
    "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa",
    "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan",
    "Saurashtra", "Sharada", "Shavian", "Siddham", "SignWriting", "Sinhala",
    "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese", "Syloti_Nagri",
    "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri",
    "Tamil", "Tangsa", "Tangut", "Telugu", "Thaana", "Thai", "Tibetan",
    "Tifinagh", "Tirhuta", "Toto", "Ugaritic", "Vai", "Vithkuqi", "Wancho",
    "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square",
};

static int unicode_name_ok(const char *s, size_t n)
{
    size_t count = sizeof(unicode_names) / sizeof(*unicode_names);
    for (size_t i = 0; i < count; i++)
        if (strlen(unicode_names[i]) == n &&
            memcmp(unicode_names[i], s, n) == 0)
            return 1;
    return 0;
}

/* \pL, \p{Greek}, \P{^Lu}; PCRE2 reads the same names the same way. */
static int uclass(struct tr *t, size_t j, size_t *next)
{
    const char *s = t->s;
    size_t n = t->n, k = j + 2, len;
    const char *name;
    if (k < n && s[k] == '{') {
        const char *e = memchr(s + k, '}', n - k);
        if (!e)
            return bad(t, "invalid character class range: `%.*s`",
                       quote_len(n - j), s + j);
        name = s + k + 1;
        len = (size_t)(e - name);
        *next = (size_t)(e - s) + 1;
        if (len && name[0] == '^') {
            name++;
            len--;
        }
    } else {
        uint32_t u;
        len = mg_utf8_next(s + k, n - k, &u);
        name = s + k;
        *next = k + len;
    }
    if (!unicode_name_ok(name, len))
        return bad(t, "invalid character class range: `%.*s`",
                   quote_len(*next - j), s + j);
    return 0;
}

static int posix_name_ok(const char *s, size_t n)
{
    static const char *const names[] = {
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
        "lower", "print", "punct", "space", "upper", "word", "xdigit",
    };
    if (n && s[0] == '^') {
        s++;
        n--;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return 1;
    return 0;
}

static int class_char(struct tr *t, size_t j, uint32_t *cp, size_t *next)
{
    if (t->s[j] == '\\')
        return escape_char(t, j, cp, next);
    *next = j + mg_utf8_next(t->s + j, t->n - j, cp);
    return 0;
}

/* Go's parseClass; every character goes out as plain or \x{...}, so
 * nothing in it means more to PCRE2 than to RE2 ([. [= [:<:] and so on). */
static int cclass(struct tr *t)
{
    const char *s = t->s;
    size_t n = t->n, start = t->i, j = t->i + 1;
    int first = 1, rc;

    set_atom(t, ITEM);
    put(t, "[", 1);
    if (j < n && s[j] == '^') {
        put(t, "^", 1);
        j++;
    }
    for (;;) {
        if (j >= n)
            return bad(t, "missing closing ]: `%.*s`",
                       quote_len(n - start), s + start);
        if (s[j] == ']' && !first)
            break;
        first = 0;
        if (s[j] == '[' && j + 1 < n && s[j + 1] == ':') {
            const char *e = NULL;
            for (size_t m = j + 2; m + 1 < n && !e; m++)
                if (s[m] == ':' && s[m + 1] == ']')
                    e = s + m;
            if (e) {
                size_t len = (size_t)(e - s) + 2 - j;
                if (!posix_name_ok(s + j + 2, len - 4))
                    return bad(t, "invalid character class range: `%.*s`",
                               quote_len(len), s + j);
                put(t, s + j, len);
                j += len;
                continue;
            }
        }
        if (s[j] == '\\' && j + 1 < n) {
            char d = s[j + 1];
            size_t next;
            if (d == 'p' || d == 'P') {
                if ((rc = uclass(t, j, &next)) != 0)
                    return rc;
                put(t, s + j, next - j);
                j = next;
                continue;
            }
            if (d == 'd' || d == 'D' || d == 'w' || d == 'W' || d == 's' ||
                d == 'S') {
                if (d == 's')
                    puts_(t, SPACE_CHARS);
                else if (d == 'S')
                    puts_(t, NOT_SPACE_CHARS);
                else
                    put(t, s + j, 2);
                j += 2;
                continue;
            }
        }
        size_t from = j;
        uint32_t lo, hi;
        if ((rc = class_char(t, j, &lo, &j)) != 0)
            return rc;
        hi = lo;
        if (j + 1 < n && s[j] == '-' && s[j + 1] != ']') {
            if ((rc = class_char(t, j + 1, &hi, &j)) != 0)
                return rc;
            if (hi < lo)
                return bad(t, "invalid character class range: `%.*s`",
                           quote_len(j - from), s + from);
        }
        put_cp(t, lo);
        if (hi != lo) {
            put(t, "-", 1);
            put_cp(t, hi);
        }
    }
    put(t, "]", 1);
    t->i = j + 1;
    return 0;
}

static int top_escape(struct tr *t)
{
    const char *s = t->s;
    size_t j = t->i, n = t->n, next;
    uint32_t cp;
    int rc;

    if (j + 1 < n) {
        switch (s[j + 1]) {
        case 'A':
        case 'b':
        case 'B':
        case 'z':
            set_atom(t, ASSERT);
            put(t, s + j, 2);
            t->i += 2;
            return 0;
        case 'C':
            return bad(t, "invalid escape sequence: `\\C`");
        case 'Q': {
            /* Literal up to \E or the end; each character is an item. */
            size_t k = j + 2;
            while (k < n && !(s[k] == '\\' && k + 1 < n && s[k + 1] == 'E')) {
                size_t len = mg_utf8_next(s + k, n - k, &cp);
                set_atom(t, ITEM);
                put_raw(t, s + k, len);
                k += len;
            }
            t->i = k < n ? k + 2 : n;
            return 0;
        }
        case 'p':
        case 'P':
            if ((rc = uclass(t, j, &next)) != 0)
                return rc;
            set_atom(t, ITEM);
            put(t, s + j, next - j);
            t->i = next;
            return 0;
        case 'd':
        case 'D':
        case 'w':
        case 'W':
            set_atom(t, ITEM);
            put(t, s + j, 2);
            t->i += 2;
            return 0;
        case 's':
        case 'S':
            set_atom(t, ITEM);
            puts_(t, s[j + 1] == 's' ? "[" SPACE_CHARS "]"
                                      : "[^" SPACE_CHARS "]");
            t->i += 2;
            return 0;
        default:
            break;
        }
    }
    if ((rc = escape_char(t, j, &cp, &next)) != 0)
        return rc;
    set_atom(t, ITEM);
    put_cp(t, cp);
    t->i = next;
    return 0;
}

/* Go's parseInt: no leading zeros; past 1e8 the value is -1. */
static int go_int(const char *s, size_t n, size_t *i, int *v)
{
    size_t k = *i;
    if (k >= n || !is_digit(s[k]))
        return 0;
    if (k + 1 < n && s[k] == '0' && is_digit(s[k + 1]))
        return 0;
    int r = 0;
    for (; k < n && is_digit(s[k]); k++)
        if (r >= 0)
            r = r >= 100000000 ? -1 : r * 10 + (s[k] - '0');
    *i = k;
    *v = r;
    return 1;
}

/* Go's parseRepeat: {n} {n,} {n,m}; anything else leaves { a literal. */
static int parse_repeat(const char *s, size_t n, size_t i, int *min,
                        int *max, size_t *end)
{
    size_t k = i + 1;
    if (!go_int(s, n, &k, min) || k >= n)
        return 0;
    if (s[k] != ',') {
        *max = *min;
    } else {
        if (++k >= n)
            return 0;
        if (s[k] == '}') {
            *max = -1;
        } else {
            if (!go_int(s, n, &k, max))
                return 0;
            if (*max < 0)
                *min = -1;
        }
    }
    if (k >= n || s[k] != '}')
        return 0;
    *end = k + 1;
    return 1;
}

static int quantifier(struct tr *t, int was_rep, size_t rep_from)
{
    const char *s = t->s;
    size_t i = t->i, n = t->n, end = i + 1;
    int min = 0, max = -1, counted = s[i] == '{';

    if (counted) {
        if (!parse_repeat(s, n, i, &min, &max, &end)) {
            set_atom(t, ITEM);
            put(t, "\\{", 2);
            t->i++;
            return 0;
        }
        if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT ||
            (max >= 0 && min > max))
            return bad(t, "invalid repeat count: `%.*s`",
                       quote_len(end - i), s + i);
    }
    size_t qend = end < n && s[end] == '?' ? end + 1 : end;
    if (was_rep)
        return bad(t, "invalid nested repetition operator: `%.*s`%s",
                   quote_len(qend - rep_from), s + rep_from,
                   s[i] == '+' ? " (possessive quantifiers are not supported)"
                               : "");
    if (t->atom == NONE)
        return bad(t, "missing argument to repetition operator: `%.*s`",
                   quote_len(qend - i), s + i);
    if (t->atom == ASSERT) {
        insert(t, t->atom_at, "(?:", 3);
        put(t, ")", 1);
        t->atom = ITEM;
    }
    if (counted) {
        uint32_t m = (uint32_t)(max >= 0 ? max : min);
        uint32_t w = t->atom_w * m;
        if ((min >= 2 || max >= 2) && w > MAX_REPEAT)
            return bad(t, "invalid repeat count: `%.*s`",
                       quote_len(end - i), s + i);
        t->atom_w = w;
    }
    put(t, s + i, qend - i);
    t->repeated = 1;
    t->rep_from = i;
    t->i = qend;
    return 0;
}

static int translate(struct tr *t)
{
    while (t->i < t->n && !t->nomem) {
        const char *s = t->s;
        size_t i = t->i;
        int was_rep = t->repeated, rc = 0;
        size_t rep_from = t->rep_from;
        uint32_t cp;

        t->repeated = 0;
        switch (s[i]) {
        case '(':
            if (i + 1 < t->n && s[i + 1] == '?') {
                rc = perl_group(t);
            } else {
                t->ncap++;
                rc = open_group(t, "(", 1, i + 1);
            }
            break;
        case ')':
            rc = close_group(t);
            break;
        case '|':
            fold(t);
            t->atom = NONE;
            put(t, "|", 1);
            t->i++;
            break;
        case '^':
        case '$':
            set_atom(t, ASSERT);
            put(t, s + i, 1);
            t->i++;
            break;
        case '.':
            set_atom(t, ITEM);
            put(t, ".", 1);
            t->i++;
            break;
        case '[':
            rc = cclass(t);
            break;
        case '*':
        case '+':
        case '?':
        case '{':
            rc = quantifier(t, was_rep, rep_from);
            break;
        case '\\':
            rc = top_escape(t);
            break;
        default: {
            size_t len = mg_utf8_next(s + i, t->n - i, &cp);
            set_atom(t, ITEM);
            put_raw(t, s + i, len);
            t->i += len;
            break;
        }
        }
        if (rc)
            return rc;
    }
    if (t->nomem)
        return -ENOMEM;
    if (t->depth)
        return bad(t, "missing closing ): `%.*s`", quote_len(t->n), t->s);
    return 0;
}

int mg_re2_translate(const char *pat, size_t n, struct mg_re2 *out,
                     char *why, size_t whylen)
{
    struct tr t;
    int rc;

    memset(&t, 0, sizeof(t));
    t.s = pat;
    t.n = n;
    t.why = why;
    t.whylen = whylen;
    if (!mg_utf8_valid(pat, n))
        return bad(&t, "invalid UTF-8");
    t.stack = malloc(MG_RE2_MAX_NEST * sizeof(*t.stack));
    if (!t.stack) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    rc = translate(&t);
    free(t.stack);
    out->pcre = t.out;
    out->names = t.names;
    out->namebytes = t.namebytes;
    out->ngroups = t.ncap;
    if (rc == -ENOMEM)
        snprintf(why, whylen, "out of memory");
    return rc;
}

void mg_re2_fini(struct mg_re2 *r)
{
    mg_rebuf_fini(&r->pcre);
    mg_rebuf_fini(&r->names);
    mg_rebuf_fini(&r->namebytes);
}
