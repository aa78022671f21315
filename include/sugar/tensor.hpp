#pragma once
// Tensor: a data type (f32 or bf16), an N-d shape and a oneDNN memory descriptor that says how the
// elements are laid out: plain row-major (nchw for images) or blocked (e.g. nChw16c, whatever oneDNN
// chose for format_tag::any). Storage is 64-byte aligned and reference counted, so copies of a Tensor
// share data; clone() copies it.
//
// Shape letters used throughout Sugar: N batch, C channels, H height, W width, O output channels,
// I input channels, K classes.
//
// Blocked layouts pad the channel dimension up to the block size (5 channels occupy a 16-lane block).
// Those padding lanes are always zero; element-wise kernels that touch them must keep them zero.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "sugar/name_table.hpp"

namespace sugar {

using Shape = dnnl::memory::dims;  // std::vector<int64_t>
using dnnl::memory;

enum class DType { f32, bf16 };

// "f32", "bf16" (train.dtype's words; sugar/name_table.hpp).
const NameTable<DType>& names_of(DType);
const char* dtype_name(DType dtype);
memory::data_type to_dnnl(DType dtype);
DType from_dnnl(memory::data_type dt);
size_t dtype_size(DType dtype);

// The plain (dense, row-major) format for a rank: a, ab, abc, abcd (= nchw), abcde.
memory::format_tag plain_tag(size_t ndims);
memory::desc plain_desc(const Shape& shape, DType dtype = DType::f32);

// Bytes held by all Storage objects of the process: now and the most at any moment since the last
// reset. Peak RSS also counts the heap's free space and oneDNN's buffers; this is the tensors alone.
struct TensorMemory {
  size_t live_bytes = 0;
  size_t peak_bytes = 0;
};
TensorMemory tensor_memory();
void reset_tensor_memory_peak();  // the peak becomes the bytes live now

// Aligned, reference-counted bytes. Zero-filled on allocation so padding lanes start at zero. Blocks
// of memory_pool::kMinPooledBytes and more come from the memory pool (sugar/memory_pool.hpp).
class Storage {
 public:
  explicit Storage(size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // Counts in-place writes that were announced with bump_version(): caches derived from the bytes
  // (a convolution's weight in its blocked layout) compare it to know when to refresh.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  std::atomic<uint64_t> version_{0};
};

struct TensorImpl;
struct GradNode;
namespace autograd {
struct Rematerializer;
}

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (no storage); defined() is false

  // Allocates zero-filled storage for a descriptor of any layout.
  static Tensor from_desc(const memory::desc& desc);
  // Wraps existing storage (shared) under a descriptor; the storage must be large enough.
  static Tensor from_storage(std::shared_ptr<Storage> storage, const memory::desc& desc);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, float value, DType dtype = DType::f32);
  // Plain row-major tensor holding `values` (converted to dtype); sizes must agree.
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values, DType dtype = DType::f32);
  static Tensor scalar(float value) { return from_vector({1}, {value}); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int i) const;  // negative i counts from the end
  int ndim() const;
  int64_t numel() const;  // logical elements
  DType dtype() const;
  const memory::desc& desc() const;
  bool is_plain() const;        // dense row-major
  size_t bytes() const;         // storage bytes of the layout, padding included
  int64_t padded_numel() const; // elements in storage, padding included

  void* raw_data() const;
  template <class T>
  T* data() const { return static_cast<T*>(raw_data()); }
  // A oneDNN memory object over this tensor's storage (cheap; no copy).
  memory memory_handle() const;
  const std::shared_ptr<Storage>& storage() const;

  // Returns a tensor with layout `desc` (same dims): this tensor if already so, else a reordered copy.
  Tensor to_desc(const memory::desc& desc) const;
  Tensor to_plain() const;
  Tensor to_dtype(DType dtype) const;  // keeps the layout kind
  // Logical values as f32 in row-major order, whatever the layout.
  std::vector<float> to_vector() const;
  float item() const;  // the single element of a one-element tensor
  Tensor clone() const;  // deep copy, same layout, no autograd history
  // Same storage, new shape (plain tensors only; element count must match).
  Tensor reshape(const Shape& shape) const;
  // Same storage and layout, but cut from the autograd history.
  Tensor detach() const;
  void fill_(float value);  // every logical element; padding lanes stay zero (bumps the version)
  // The storage's write version (Storage::version). Code that writes a tensor's values in place
  // through data()/raw_data() calls bump_version() afterwards, so that copies derived from them
  // (nn::Conv2d's cached blocked weight) are refreshed: the optimizers, checkpoint loading, the
  // initialisers and fill_ do.
  uint64_t version() const;
  void bump_version() const;

  // ---- autograd -------------------------------------------------------------------------------
  bool requires_grad() const;
  // Marks a leaf (parameter or input) as needing a gradient.
  Tensor& set_requires_grad(bool enabled);
  bool is_leaf() const;
  // The accumulated gradient (same layout as this tensor), undefined until backward reaches it.
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the gradient (PyTorch's set_to_none)
  // Fires once per backward, as soon as this leaf's gradient is final (all its uses are done).
  void set_grad_ready_hook(std::function<void(Tensor& param)> hook);
  const std::string& name() const;
  Tensor& set_name(std::string name);

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The autograd half of a tensor, apart from its storage so that the tape can hold it alone: a
// recorded node keeps its inputs' and outputs' states (to hand gradients along) but not their values,
// so an intermediate that no backward closure needs (a ReLU's input, an add's operands) is freed as
// soon as the forward pass lets go of it, as in PyTorch.
struct AutogradState {
  bool requires_grad = false;
  bool is_leaf = true;
  Tensor grad;
  int pending_uses = 0;  // recorded uses not yet back-propagated (for the grad-ready hook)
  std::function<void(Tensor&)> grad_ready_hook;
  memory::desc desc;  // the tensor's layout and shape: gradients are reordered to and checked against them
  Shape shape;
  std::string name;                 // for error messages
  std::weak_ptr<TensorImpl> owner;  // the tensor, for the grad-ready hook (a parameter: always alive)
};

struct TensorImpl {
  memory::desc desc;
  Shape shape;
  std::shared_ptr<Storage> storage;
  size_t offset_bytes = 0;
  std::string name;
  std::shared_ptr<AutogradState> autograd;  // null until the tensor takes part in autograd
  // How to recompute the values in a backward (sugar/saved_tensor.hpp); null for most tensors.
  std::shared_ptr<autograd::Rematerializer> recompute;
};

// The tensor's autograd state, created on first use.
const std::shared_ptr<AutogradState>& autograd_state(const Tensor& tensor);

// Shapes as text, for error messages: [3, 5, 7, 7].
std::string to_string(const Shape& shape);
// Layout as text for logs and cache keys: "f32 [3,5,7,7] nChw16c-like blocked:16c".
std::string describe(const memory::desc& desc);

}  // namespace sugar
