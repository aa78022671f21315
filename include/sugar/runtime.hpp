#pragma once
// The process-wide oneDNN engine and stream, and the thread count shared by OpenMP and oneDNN
// (this oneDNN build uses the OpenMP runtime, so one setting reaches both).
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace sugar {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Sets the threads used by every following op; n <= 0 means "all hardware threads".
void set_num_threads(int n);
int num_threads();

// "2.6.3 (commit ...)" of the oneDNN library actually loaded.
std::string onednn_version();
// Sugar's own version and the git commit it was built from.
std::string sugar_version();
std::string sugar_git_commit();

}  // namespace sugar
