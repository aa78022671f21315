// printable(): what error and log lines do to user text. The expected strings are written out by
// hand from the UTF-8 rules (RFC 3629), not computed.
#include <gtest/gtest.h>

#include "sugar/printable.hpp"

using sugar::printable;

TEST(Printable, ControlBytesAreEscaped) {
  EXPECT_EQ(printable("a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("tab\tnew\nline\r"), "tab\\x09new\\x0aline\\x0d");
  EXPECT_EQ(printable("tab\tnew\nline\r", true), "tab\tnew\nline\\x0d");
  EXPECT_EQ(printable("back\\slash ok ~"), "back\\slash ok ~");
}

TEST(Printable, ValidUtf8IsKept) {
  EXPECT_EQ(printable("résumé → 数据 😀"), "résumé → 数据 😀");
  EXPECT_EQ(printable("\xc2\xa0"), "\xc2\xa0");          // U+00A0, the first code point after C1
  EXPECT_EQ(printable("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF, the last
}

TEST(Printable, BrokenUtf8AndC1ControlsAreEscaped) {
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");                    // never in UTF-8
  EXPECT_EQ(printable("\x80x"), "\\x80x");                           // stray continuation byte
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong, 3 bytes
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // UTF-16 surrogate D800
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("x\xe2\x82"), "x\\xe2\\x82");                  // truncated euro sign
  EXPECT_EQ(printable("\xe2\x82" "a"), "\\xe2\\x82a");               // interrupted sequence
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");           // C1 CSI
}
