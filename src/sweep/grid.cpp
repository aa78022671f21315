#include "sugar/sweep/grid.hpp"

#include "sugar/error.hpp"

namespace sugar::sweep {
namespace {

bool kept_in_names(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '(' || c == ')' || c == '-';
}

// The key's tail made of its last `parts` dot-separated parts ("model.activation", 1 -> "activation").
std::string tail(const std::string& key, size_t parts) {
  size_t begin = key.size();
  for (size_t i = 0; i < parts; ++i) {
    const size_t dot = begin == 0 ? std::string::npos : key.rfind('.', begin - 1);
    if (dot == std::string::npos) return key;
    begin = dot;
  }
  return key.substr(begin + 1);
}

bool ends_with_part(const std::string& key, const std::string& tail_text) {
  if (key == tail_text) return true;
  return key.size() > tail_text.size() && key.ends_with(tail_text) && key[key.size() - tail_text.size() - 1] == '.';
}

}  // namespace

size_t grid_size(const std::vector<config::SweepAxis>& axes) {
  size_t cells = 1;
  for (const config::SweepAxis& axis : axes) {
    SUGAR_CHECK(!axis.values.empty(), "sweep.", axis.key, ": the axis has no values");
    if (cells > kMaxCells / axis.values.size()) {
      throw Error("sweep: the grid has more than " + std::to_string(kMaxCells) +
                      " cells; split it into several configs or remove values",
                  ErrorKind::usage);
    }
    cells *= axis.values.size();
  }
  return cells;
}

std::vector<std::vector<Assignment>> expand_grid(const std::vector<config::SweepAxis>& axes) {
  const size_t cells = grid_size(axes);
  std::vector<std::vector<Assignment>> out;
  out.reserve(cells);
  // An odometer over the axes: the last digit turns fastest.
  std::vector<size_t> digit(axes.size(), 0);
  for (size_t cell = 0; cell < cells; ++cell) {
    std::vector<Assignment> assignments;
    assignments.reserve(axes.size());
    for (size_t a = 0; a < axes.size(); ++a) assignments.push_back({axes[a].key, axes[a].values[digit[a]]});
    out.push_back(std::move(assignments));
    for (size_t a = axes.size(); a-- > 0;) {
      if (++digit[a] < axes[a].values.size()) break;
      digit[a] = 0;
    }
  }
  return out;
}

std::vector<std::string> axis_labels(const std::vector<std::string>& keys) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string label = keys[i];
    for (size_t parts = 1;; ++parts) {
      const std::string candidate = tail(keys[i], parts);
      bool shared = false;
      for (size_t j = 0; j < keys.size(); ++j) shared |= j != i && ends_with_part(keys[j], candidate);
      if (!shared || candidate == keys[i]) {
        label = candidate;
        break;
      }
    }
    labels.push_back(label);
  }
  return labels;
}

std::string escape_name_value(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == ' ' && i > 0 && value[i - 1] == ',') continue;
    if (kept_in_names(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  return out;
}

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string cell_name(const std::vector<std::string>& labels, const std::vector<std::string>& values) {
  SUGAR_CHECK(labels.size() == values.size(), "cell_name: ", labels.size(), " labels but ", values.size(), " values");
  std::string name;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) name += "__";
    name += labels[i] + "=" + escape_name_value(values[i]);
  }
  if (name.size() <= kMaxNameBytes) return name;
  static const char* hex = "0123456789abcdef";
  const uint64_t hash = fnv1a64(name);
  std::string shortened = name.substr(0, kMaxNameBytes - 17) + "~";
  for (int shift = 60; shift >= 0; shift -= 4) shortened += hex[(hash >> shift) & 15];
  return shortened;
}

}  // namespace sugar::sweep
