// The machine-wide file of auto's choices and the hooks on how choices are made (see
// conv_algorithm_store.hpp).
#include "sugar/ops/conv_algorithm_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
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
  return cpu_model_name() + " | oneDNN " + onednn_version() + " | isa " +
         std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa())) + " | measurement " +
         std::to_string(kMeasurementVersion);
}

// When the store cannot be used, this process measures for itself.
const char* const kOnlyThisProcess =
    ": convolution algorithms are measured for this process only (two fresh runs may choose differently)";

std::mutex problem_mutex;
std::string last_problem;  // the last reason the store could not keep a measurement (machine_store_problem)

// Each different message once per process: a first warning must not hide a later, different one.
void warn_once(const std::string& message) {
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(problem_mutex);
  if (warned.insert(message).second) spdlog::warn("{}", message);
}

// A warning that the store could not be used (read, locked or written): measurements are not kept.
void warn_unusable(const std::string& message) {
  warn_once(message);
  std::lock_guard<std::mutex> lock(problem_mutex);
  last_problem = message;
}

std::atomic<bool> remeasure{false};

// flock(2) on <file>.lock for the lifetime of the object. Exclusive where the directory is writable;
// shared (read the store, never write it) where only reading is allowed, e.g. a store tuned once and
// shared read-only. Waits for another process's measurement (saying so after kSayAfter) but not
// forever: a stopped or hung process must not block every later one.
class FileLock {
 public:
  static constexpr auto kSayAfter = std::chrono::seconds(5);
  static constexpr auto kGiveUpAfter = std::chrono::seconds(120);

  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      read_only_ = true;
    }
    if (fd_ < 0) {
      problem_ = std::strerror(errno);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    bool said = false;
    while (::flock(fd_, (read_only_ ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
      const auto waited = std::chrono::steady_clock::now() - start;
      if (errno != EWOULDBLOCK || waited > kGiveUpAfter) {
        problem_ = errno == EWOULDBLOCK ? "another process held it for over 2 minutes" : std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        return;
      }
      if (!said && waited > kSayAfter) {
        spdlog::info("waiting for {} (another process is measuring convolution algorithms)", path);
        said = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool locked() const { return fd_ >= 0; }
  bool read_only() const { return read_only_; }
  const std::string& problem() const { return problem_; }

 private:
  int fd_ = -1;
  bool read_only_ = false;
  std::string problem_;
};

// The file's entries, or an empty object when there is no file yet. A file that cannot be read is
// reported and left alone (nullopt: use no store); one that is not this store's format, or another
// machine's, is moved aside to <file>.corrupt (unless the store is read-only) and counts as empty.
std::optional<nlohmann::json> read_entries(const std::string& file, bool read_only) {
  if (!std::filesystem::exists(file)) return nlohmann::json::object();
  if (::access(file.c_str(), R_OK) != 0) {
    warn_unusable("cannot read " + file + ": " + std::strerror(errno) + kOnlyThisProcess);
    return std::nullopt;
  }
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
  if (read_only) {
    warn_unusable(file + ": " + problem + "; the store is read-only here, so this process measures for itself");
    return std::nullopt;
  }
  const std::string aside = file + ".corrupt";
  std::error_code error;
  std::filesystem::rename(file, aside, error);
  warn_once(file + ": " + problem + (error ? "" : "; moved to " + aside) +
            "; the convolution algorithms it held are measured again");
  return nlohmann::json::object();
}

// The entry for `key` when it parses, names `layer`, was made by auto and this machine can run it;
// nullopt (warned once) otherwise.
std::optional<ConvLayerChoice> stored_choice(const nlohmann::json& entries, const std::string& key,
                                             const std::string& layer, const std::string& file,
                                             const std::function<bool(const ConvLayerChoice&)>& usable) {
  const auto it = entries.find(key);
  if (it == entries.end()) return std::nullopt;
  try {
    ConvLayerChoice choice = conv_layer_choice_from_json(it->dump(), file + ": '" + key + "'");
    SUGAR_CHECK(choice.layer == layer, file, ": '", key, "' holds the choice of another layer ('", choice.layer, "')");
    SUGAR_CHECK(choice.policy == ConvAlgoPolicy::automatic && (choice.source == "measured" || choice.source == "prior"),
                file, ": '", key, "' was not made by auto (policy '", conv_algo_policy_name(choice.policy),
                "', source '", choice.source, "')");
    SUGAR_CHECK(usable(choice), file, ": '", key, "' names an algorithm oneDNN cannot run here");
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
  // Under the lock, so that a process measuring now does not write the old entries back; the lock
  // file itself stays (deleting it would let two processes lock two different files).
  FileLock lock(file + ".lock");
  if (!lock.locked() || lock.read_only())
    throw Error("cannot lock " + file + ".lock to forget its choices: " +
                (lock.locked() ? std::string("the store is read-only here") : lock.problem()));
  std::error_code error;
  std::filesystem::remove(file, error);
  if (error) throw Error("cannot delete " + file + ": " + error.message());
  return file;
}

std::string machine_store_problem() {
  std::lock_guard<std::mutex> lock(problem_mutex);
  return last_problem;
}

void set_conv_remeasure(bool on) { remeasure = on; }

namespace conv_detail {

ConvLayerChoice machine_cached_choice(const std::string& key, const std::string& layer,
                                      const std::function<bool(const ConvLayerChoice&)>& usable,
                                      const std::function<ConvLayerChoice()>& measure) {
  const std::string file = machine_choice_file();
  if (file.empty()) return measure();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), error);
  FileLock lock(file + ".lock");
  if (!lock.locked()) {
    warn_unusable("cannot lock " + file + ".lock: " + lock.problem() + kOnlyThisProcess);
    return measure();
  }
  std::optional<nlohmann::json> entries = read_entries(file, lock.read_only());
  if (!entries) return measure();
  const std::optional<ConvLayerChoice> stored = stored_choice(*entries, key, layer, file, usable);
  const bool stored_clear = stored && !stored->provisional;
  if (stored_clear && !remeasure) {
    ConvLayerChoice choice = *stored;
    choice.source = "machine cache";
    return choice;
  }
  ConvLayerChoice choice = measure();
  if (stored_clear && choice.provisional) {
    // sugar tune on a machine that is not quiet: a measurement that cannot decide does not replace
    // one that could.
    ConvLayerChoice kept = *stored;
    kept.source = "machine cache";
    kept.note = "kept: this measurement could not decide (" + choice.note + "); stored: " + stored->note;
    return kept;
  }
  if (lock.read_only()) {
    warn_unusable("cannot write " + file + ": the store is read-only here" + kOnlyThisProcess);
    return choice;
  }
  (*entries)[key] = io::parse_json(to_json_text(choice));
  const nlohmann::json content = {{"machine", machine_signature()}, {"choices", *entries}};
  try {
    io::write_file_atomic(file, content.dump(1) + "\n");
  } catch (const Error& e) {
    warn_unusable(e.what() + std::string(kOnlyThisProcess));
  }
  return choice;
}

}  // namespace conv_detail
}  // namespace sugar::ops
