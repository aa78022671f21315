#include "sugar/printable.hpp"

namespace sugar {
namespace {

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629, Table 3-7 of the
// Unicode standard), or 0 when the bytes there are not one.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead == 0xe0) length = 3, low = 0xa0;                     // no overlong 3-byte forms
  else if (lead == 0xed) length = 3, high = 0x9f;                    // no UTF-16 surrogates
  else if (lead >= 0xe1 && lead <= 0xef) length = 3;
  else if (lead == 0xf0) length = 4, low = 0x90;                     // no overlong 4-byte forms
  else if (lead == 0xf4) length = 4, high = 0x8f;                    // nothing above U+10FFFF
  else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
  else return 0;
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  return length;
}

void append_escaped(std::string& out, unsigned char c) {
  static const char* digits = "0123456789abcdef";
  out += "\\x";
  out += digits[c >> 4];
  out += digits[c & 15];
}

}  // namespace

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const bool control = c < 0x20 || c == 0x7f;
      if (control && !(keep_newlines && (c == '\n' || c == '\t'))) append_escaped(out, c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t length = utf8_sequence_length(text, i);
    // C1 controls (U+0080..U+009F, "\xc2\x9b" is CSI) act on some terminals like ESC sequences.
    const bool c1_control = length == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (c1_control) {
      append_escaped(out, c);
      append_escaped(out, static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else if (length == 0) {
      append_escaped(out, c);
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace sugar
