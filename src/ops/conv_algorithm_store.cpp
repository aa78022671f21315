// The machine-wide file of auto's choices (see conv_algorithm_store.hpp).
#include "conv_algorithm_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/random.hpp"
#include "sugar/runtime.hpp"
#include "sugar/train/run_info.hpp"

namespace sugar::ops::conv_detail {
namespace {

std::string cache_directory() {
  const auto variable = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  if (const std::string dir = variable("SUGAR_CACHE_DIR"); !dir.empty()) return dir == "off" ? "" : dir;
  if (const std::string xdg = variable("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/sugar";
  if (const std::string home = variable("HOME"); !home.empty()) return home + "/.cache/sugar";
  return "";
}

// Raised whenever the measurement itself changes, so that decisions measured the old way are
// measured again (a new file) instead of reused. 2: an inference forward no longer times the weight
// reorder that the layer keeps across batches.
constexpr int kMeasurementVersion = 2;

// What makes timings comparable: the processor, the oneDNN build, the kernels it picks and how
// Sugar measures.
std::string machine_signature() {
  return train::cpu_model_name() + " | oneDNN " + onednn_version() + " | isa " +
         std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa())) + " | measurement " +
         std::to_string(kMeasurementVersion);
}

// When the store cannot be used, this process measures for itself.
const char* const kOnlyThisProcess =
    ": convolution algorithms are measured for this process only (two fresh runs may choose differently)";

void warn_once(const std::string& message) {
  static std::once_flag warned;
  std::call_once(warned, [&] { spdlog::warn("{}", message); });
}

// flock(2) on <file>.lock for the lifetime of the object; locked() is false when that failed.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_;
};

// The file's entries, or an empty object when there is no file yet. Throws on an unreadable or
// malformed file.
nlohmann::json read_entries(const std::string& file) {
  if (!std::filesystem::exists(file)) return nlohmann::json::object();
  nlohmann::json j;
  try {
    j = io::parse_json(io::read_file(file));
  } catch (const nlohmann::json::exception&) {
    throw Error(file + ": not valid JSON");
  }
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_object())
    throw Error(file + ": no 'choices' object");
  return j["choices"];
}

}  // namespace

std::string machine_choice_file() {
  const std::string dir = cache_directory();
  if (dir.empty()) return "";
  char name[64];
  std::snprintf(name, sizeof name, "/conv-algorithms-%016llx.json",
                static_cast<unsigned long long>(hash_key(machine_signature())));
  return dir + name;
}

ConvLayerChoice machine_cached_choice(const std::string& key, const std::function<ConvLayerChoice()>& measure) {
  const std::string file = machine_choice_file();
  if (file.empty()) return measure();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), error);
  FileLock lock(file + ".lock");
  if (!lock.locked()) {
    warn_once("cannot lock " + file + ".lock" + kOnlyThisProcess);
    return measure();
  }
  nlohmann::json entries;
  try {
    entries = read_entries(file);
    if (auto it = entries.find(key); it != entries.end()) {
      ConvLayerChoice choice = conv_layer_choice_from_json(it->dump(), file + ": '" + key + "'");
      choice.source = "machine cache";
      return choice;
    }
  } catch (const Error& e) {
    warn_once(std::string(e.what()) + " (it is rewritten with this process's measurements)");
    entries = nlohmann::json::object();
  }
  const ConvLayerChoice choice = measure();
  entries[key] = io::parse_json(to_json_text(choice));
  const nlohmann::json content = {{"machine", machine_signature()}, {"choices", entries}};
  try {
    io::write_file_atomic(file, content.dump(1) + "\n");
  } catch (const Error& e) {
    warn_once(e.what() + std::string(kOnlyThisProcess));
  }
  return choice;
}

}  // namespace sugar::ops::conv_detail
