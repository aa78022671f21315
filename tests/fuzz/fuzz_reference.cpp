// The tables of `sugar report --reference` (reported.csv, stated.csv) and the CSV reader under them
// (io/csv_table.hpp), each given the whole input. Accepted input must hold what the report relies on:
// every row as wide as the header; reported accuracies in [0, 100], activations in a canonical form that
// reads back to itself, no two rows for one model, dataset and activation; stated values in the config
// layer's canonical text, which reads back to itself.
#include <cmath>
#include <set>
#include <string>
#include <tuple>

#include "fuzz_support.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/io/csv_table.hpp"
#include "sugar/report/reference.hpp"

namespace {

// A CSV cell as report.csv writes one: quoted when it holds a comma or a quote.
std::string cell(const std::string& text) {
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  using namespace sugar;
  fuzz::accept_or_reject([&] {
    const io::CsvTable table = io::parse_csv_table(text, "t.csv", "a,b");
    for (const io::CsvTable::Row& row : table.rows)
      if (row.cells.size() != table.header.size()) fuzz::broken("a row is not as wide as the header");
  });
  fuzz::accept_or_reject([&] {
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    for (const report::ReportedAccuracy& r : report::parse_reported(text, "reported.csv")) {
      if (!(r.top1 >= 0 && r.top1 <= 100)) fuzz::broken("reported_top1 outside [0, 100]");
      if (activations::ActivationSpec::parse(r.canonical_activation).to_string() != r.canonical_activation)
        fuzz::broken("'" + r.canonical_activation + "' is not canonical");
      if (!seen.insert({r.model, r.dataset, r.canonical_activation}).second) fuzz::broken("a repeated row");
    }
  });
  fuzz::accept_or_reject([&] {
    for (const report::StatedSetting& s : report::parse_stated(text, "stated.csv")) {
      if (s.value.empty()) continue;
      const std::string again =
          "key,value,dataset\n" + cell(s.key) + "," + cell(s.value) + "," + cell(s.dataset) + "\n";
      std::string value;
      try {
        value = report::parse_stated(again, "again.csv").at(0).value;
      } catch (const Error& e) {
        fuzz::broken("the canonical value '" + s.value + "' of " + s.key + " does not read back: " + e.what());
      }
      if (value != s.value) fuzz::broken(s.key + ": '" + s.value + "' reads back as '" + value + "'");
    }
  });
  return 0;
}
