/* test_name_valid: metric and label names are checked by a byte table;
 * every byte, first and later, is judged as the grammar says:
 * metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*. */
#include <stdio.h>
#include <string.h>

#include "mg_labels.h"
#include "mg_test.h"

static int alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int digit(int c)
{
    return c >= '0' && c <= '9';
}

static void test_every_byte(void)
{
    for (int c = 0; c < 256; c++) {
        char first[2] = {(char)c, 'a'}, later[2] = {'a', (char)c};
        CHECK(mg_label_name_valid(first, 1) == alpha_(c), "label first %d", c);
        CHECK(mg_label_name_valid(later, 2) == (alpha_(c) || digit(c)), "label later %d", c);
        CHECK(mg_metric_name_valid(first, 1) == (alpha_(c) || c == ':'), "metric first %d", c);
        CHECK(mg_metric_name_valid(later, 2) == (alpha_(c) || digit(c) || c == ':'),
              "metric later %d", c);
    }
    CHECK(!mg_label_name_valid("", 0));
    CHECK(!mg_metric_name_valid("", 0));
    CHECK(mg_metric_name_valid("a:b_c9", 6));
    CHECK(!mg_label_name_valid("a:b", 3));
}

/* Values are checked for ASCII a word at a time and in overlapping tails:
 * one byte that is not ASCII, at any place in any length, is still seen. */
static void test_utf8_every_place(void)
{
    char s[40];
    for (size_t n = 0; n <= 33; n++) {
        memset(s, 'a', sizeof(s));
        CHECK(mg_utf8_valid(s, n), "ascii %zu", n);
        for (size_t i = 0; i < n; i++) {
            memset(s, 'a', sizeof(s));
            s[i] = (char)0xff;
            CHECK(!mg_utf8_valid(s, n), "0xff at %zu of %zu", i, n);
            s[i] = (char)0xc3; /* a lead byte cut off or followed by 'a' */
            CHECK(!mg_utf8_valid(s, n), "0xc3 at %zu of %zu", i, n);
            if (i + 1 < n) {
                s[i + 1] = (char)0xa9; /* U+00E9 */
                CHECK(mg_utf8_valid(s, n), "U+00E9 at %zu of %zu", i, n);
            }
        }
    }
}

int main(void)
{
    test_every_byte();
    test_utf8_every_place();
    return mg_test_summary("test_name_valid");
}
