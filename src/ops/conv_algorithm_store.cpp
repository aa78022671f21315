// The machine-wide file of auto's choices and the hooks on how choices are made (see
// conv_algorithm_store.hpp).
#include "sugar/ops/conv_algorithm_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/regular_file.hpp"
#include "sugar/random.hpp"
#include "sugar/runtime.hpp"
#include "sugar/train/run_info.hpp"

namespace sugar::ops {
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
// reorder that the layer keeps across batches. 3: interleaved pairs with a noise estimate, provisional
// entries, keys with the batch and the input's layout.
constexpr int kMeasurementVersion = 3;

// Far above any real file (an entry is ~400 bytes; a model has tens of layer shapes).
constexpr uint64_t kMaxStoreBytes = uint64_t{16} << 20;

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

std::atomic<bool> remeasure{false};

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

// The file's entries, or an empty object when there is no file yet. A file that is not this store's
// format, or another machine's, is moved aside to <file>.corrupt (warned once) and counts as empty.
nlohmann::json read_entries(const std::string& file) {
  if (!std::filesystem::exists(file)) return nlohmann::json::object();
  std::string problem;
  try {
    const nlohmann::json j = io::parse_json(io::read_regular_file(file, kMaxStoreBytes, "convolution algorithm store"));
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_object()) problem = "no 'choices' object";
    else if (!j.contains("machine") || j["machine"] != machine_signature())
      problem = "written for another machine signature than '" + machine_signature() + "'";
    else return j["choices"];
  } catch (const nlohmann::json::exception&) {
    problem = "not valid JSON";
  } catch (const Error& e) {
    problem = e.what();
  }
  const std::string aside = file + ".corrupt";
  std::error_code error;
  std::filesystem::rename(file, aside, error);
  warn_once(file + ": " + problem + (error ? "" : "; moved to " + aside) +
            "; the convolution algorithms it held are measured again");
  return nlohmann::json::object();
}

// The entry for `key` when it parses and names `layer`; nullopt (warned once) otherwise.
std::optional<ConvLayerChoice> stored_choice(const nlohmann::json& entries, const std::string& key,
                                             const std::string& layer, const std::string& file) {
  const auto it = entries.find(key);
  if (it == entries.end()) return std::nullopt;
  try {
    ConvLayerChoice choice = conv_layer_choice_from_json(it->dump(), file + ": '" + key + "'");
    SUGAR_CHECK(choice.layer == layer, file, ": '", key, "' holds the choice of another layer ('", choice.layer, "')");
    return choice;
  } catch (const Error& e) {
    warn_once(std::string(e.what()) + "; it is measured again");
    return std::nullopt;
  }
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

std::string forget_machine_choices() {
  const std::string file = machine_choice_file();
  if (file.empty() || !std::filesystem::exists(file)) return "";
  std::error_code error;
  std::filesystem::remove(file, error);
  if (error) throw Error("cannot delete " + file + ": " + error.message());
  std::filesystem::remove(file + ".lock", error);  // a stale lock file is harmless; a failure here too
  return file;
}

void set_conv_remeasure(bool on) { remeasure = on; }

namespace conv_detail {

ConvLayerChoice machine_cached_choice(const std::string& key, const std::string& layer,
                                      const std::function<ConvLayerChoice()>& measure) {
  const std::string file = machine_choice_file();
  if (file.empty()) return measure();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), error);
  FileLock lock(file + ".lock");
  if (!lock.locked()) {
    warn_once("cannot lock " + file + ".lock" + kOnlyThisProcess);
    return measure();
  }
  nlohmann::json entries = read_entries(file);
  if (!remeasure) {
    if (std::optional<ConvLayerChoice> stored = stored_choice(entries, key, layer, file);
        stored && !stored->provisional) {
      stored->source = "machine cache";
      return *stored;
    }
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

}  // namespace conv_detail
}  // namespace sugar::ops
