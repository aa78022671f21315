#include "sugar/tensor.hpp"

#include <cstdio>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "sugar/error.hpp"
#include "sugar/memory_pool.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar {

const NameTable<DType>& names_of(DType) {
  static const NameTable<DType> table{{DType::f32, "f32"}, {DType::bf16, "bf16"}};
  return table;
}

const char* dtype_name(DType dtype) { return name_of(dtype).c_str(); }

memory::data_type to_dnnl(DType dtype) {
  return dtype == DType::f32 ? memory::data_type::f32 : memory::data_type::bf16;
}

DType from_dnnl(memory::data_type dt) {
  if (dt == memory::data_type::f32) return DType::f32;
  if (dt == memory::data_type::bf16) return DType::bf16;
  throw Error("tensor: unsupported oneDNN data type " + std::to_string(static_cast<int>(dt)) +
              " (Sugar tensors are f32 or bf16)");
}

size_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 2; }

memory::format_tag plain_tag(size_t ndims) {
  switch (ndims) {
    case 1: return memory::format_tag::a;
    case 2: return memory::format_tag::ab;
    case 3: return memory::format_tag::abc;
    case 4: return memory::format_tag::abcd;
    case 5: return memory::format_tag::abcde;
    case 6: return memory::format_tag::abcdef;
  }
  throw Error("tensor: expected 1 to 6 dimensions, got " + std::to_string(ndims));
}

memory::desc plain_desc(const Shape& shape, DType dtype) {
  for (auto d : shape)
    SUGAR_CHECK(d > 0, "tensor: every dimension must be positive, got shape ", to_string(shape));
  return memory::desc(shape, to_dnnl(dtype), plain_tag(shape.size()));
}

// ---- Storage ----------------------------------------------------------------------------------

namespace {
std::atomic<size_t> g_live_bytes{0};
std::atomic<size_t> g_peak_bytes{0};

// aligned_alloc wants a multiple of the alignment.
size_t allocated_bytes(size_t bytes) { return std::max<size_t>(64, (bytes + 63) / 64 * 64); }

// Under AddressSanitizer every tensor has a heap block of its own, so a use after free is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPoolLargeBlocks = false;
#else
constexpr bool kPoolLargeBlocks = true;
#endif
bool pooled(size_t rounded_bytes) { return kPoolLargeBlocks && rounded_bytes >= memory_pool::kMinPooledBytes; }

void count_allocation(size_t bytes) {
  const size_t live = g_live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  size_t peak = g_peak_bytes.load(std::memory_order_relaxed);
  while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}
}  // namespace

TensorMemory tensor_memory() {
  return {g_live_bytes.load(std::memory_order_relaxed), g_peak_bytes.load(std::memory_order_relaxed)};
}

void reset_tensor_memory_peak() {
  g_peak_bytes.store(g_live_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

Storage::Storage(size_t bytes) : bytes_(bytes) {
  const size_t rounded = allocated_bytes(bytes);
  data_ = pooled(rounded) ? memory_pool::allocate(rounded) : std::aligned_alloc(64, rounded);
  if (!data_) throw Error("tensor: out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(data_, 0, rounded);
  count_allocation(rounded);
}

Storage::~Storage() {
  const size_t rounded = allocated_bytes(bytes_);
  if (pooled(rounded)) {
    memory_pool::release(data_);
  } else {
    std::free(data_);
  }
  g_live_bytes.fetch_sub(rounded, std::memory_order_relaxed);
}

// ---- construction -----------------------------------------------------------------------------

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const memory::desc& desc) {
  SUGAR_CHECK(storage && storage->bytes() >= desc.get_size(), "tensor: storage of ",
              storage ? storage->bytes() : 0, " bytes is too small for ", describe(desc));
  auto impl = std::make_shared<TensorImpl>();
  impl->desc = desc;
  impl->shape = desc.dims();
  impl->storage = std::move(storage);
  return Tensor(std::move(impl));
}

Tensor Tensor::from_desc(const memory::desc& desc) {
  for (auto d : desc.dims())
    SUGAR_CHECK(d > 0, "tensor: every dimension must be positive, got shape ", to_string(desc.dims()));
  return from_storage(std::make_shared<Storage>(desc.get_size()), desc);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) { return from_desc(plain_desc(shape, dtype)); }

Tensor Tensor::full(const Shape& shape, float value, DType dtype) {
  Tensor t = zeros(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, DType dtype) {
  Tensor f32 = zeros(shape, DType::f32);
  SUGAR_CHECK(static_cast<int64_t>(values.size()) == f32.numel(), "tensor: ", values.size(),
              " values given for shape ", to_string(shape), " which holds ", f32.numel());
  std::copy(values.begin(), values.end(), f32.data<float>());
  return dtype == DType::f32 ? f32 : f32.to_dtype(dtype);
}

// ---- queries ----------------------------------------------------------------------------------

static TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw Error("tensor: use of an undefined tensor");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
int Tensor::ndim() const { return static_cast<int>(shape().size()); }
int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int k = i < 0 ? i + n : i;
  SUGAR_CHECK(k >= 0 && k < n, "tensor: dimension ", i, " out of range for shape ", to_string(shape()));
  return shape()[k];
}
int64_t Tensor::numel() const {
  const Shape& s = shape();
  return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<int64_t>());
}
DType Tensor::dtype() const { return from_dnnl(desc().data_type()); }
const memory::desc& Tensor::desc() const { return checked(impl_).desc; }
bool Tensor::is_plain() const { return desc() == plain_desc(shape(), dtype()); }
size_t Tensor::bytes() const { return desc().get_size(); }
int64_t Tensor::padded_numel() const { return static_cast<int64_t>(bytes() / dtype_size(dtype())); }
void* Tensor::raw_data() const {
  TensorImpl& impl = checked(impl_);
  return static_cast<char*>(impl.storage->data()) + impl.offset_bytes;
}
memory Tensor::memory_handle() const { return memory(desc(), cpu_engine(), raw_data()); }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

// ---- layout and type conversions --------------------------------------------------------------

// Copies src into dst (same dims) through a cached reorder primitive.
static void reorder_into(const Tensor& src, const Tensor& dst) {
  SUGAR_CHECK(src.shape() == dst.shape(), "reorder: shapes differ, ", to_string(src.shape()), " vs ",
              to_string(dst.shape()));
  const auto& cached = cached_primitive<dnnl::reorder::primitive_desc>(
      CacheKey("reorder") << src.desc() << dst.desc(), [&] {
        return dnnl::reorder::primitive_desc(cpu_engine(), src.desc(), cpu_engine(), dst.desc(),
                                             user_scratchpad_attr());
      });
  execute_primitive(cached.primitive, {{DNNL_ARG_FROM, src.memory_handle()}, {DNNL_ARG_TO, dst.memory_handle()}});
}

Tensor Tensor::to_desc(const memory::desc& target) const {
  if (target == desc()) return *this;
  profiler::Scope scope(profiler::OpKind::reorder);
  Tensor out = from_desc(target);
  reorder_into(*this, out);
  return out;
}

Tensor Tensor::to_plain() const { return to_desc(plain_desc(shape(), dtype())); }

Tensor Tensor::to_dtype(DType target) const {
  if (target == dtype()) return *this;
  if (is_plain()) return to_desc(plain_desc(shape(), target));
  // Same blocking, other data type: let oneDNN derive the layout from format_kind::any is not
  // possible here, so rebuild the descriptor with the new data type and identical strides/blocks.
  dnnl_memory_desc_t raw = desc().data;
  raw.data_type = to_dnnl(target) == memory::data_type::f32 ? dnnl_f32 : dnnl_bf16;
  return to_desc(memory::desc(raw));
}

std::vector<float> Tensor::to_vector() const {
  Tensor plain = to_desc(plain_desc(shape(), DType::f32));
  const float* p = plain.data<float>();
  return std::vector<float>(p, p + plain.numel());
}

float Tensor::item() const {
  SUGAR_CHECK(numel() == 1, "tensor: item() needs a one-element tensor, got shape ", to_string(shape()));
  return to_vector()[0];
}

Tensor Tensor::clone() const {
  Tensor out = from_desc(desc());
  std::memcpy(out.raw_data(), raw_data(), bytes());
  out.impl_->name = impl_->name;
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  SUGAR_CHECK(is_plain(), "reshape: needs a plain layout, got ", describe(desc()));
  Tensor out = from_storage(storage(), plain_desc(new_shape, dtype()));
  SUGAR_CHECK(out.numel() == numel(), "reshape: cannot view ", to_string(shape()), " as ", to_string(new_shape));
  out.impl_->offset_bytes = impl_->offset_bytes;
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->desc = desc();
  impl->shape = shape();
  impl->storage = storage();
  impl->offset_bytes = impl_->offset_bytes;
  impl->name = impl_->name;
  impl->recompute = impl_->recompute;  // same values, so the same recipe
  return Tensor(std::move(impl));
}

uint64_t Tensor::version() const { return storage()->version(); }
void Tensor::bump_version() const { storage()->bump_version(); }

void Tensor::fill_(float value) {
  bump_version();
  if (is_plain() && dtype() == DType::f32) {
    std::fill_n(data<float>(), numel(), value);
    return;
  }
  // Other layouts: fill a plain f32 copy and reorder it in, so padding lanes stay zero.
  Tensor plain = zeros(shape(), DType::f32);
  plain.fill_(value);
  reorder_into(plain, *this);
}

// ---- autograd accessors -----------------------------------------------------------------------

const std::shared_ptr<AutogradState>& autograd_state(const Tensor& tensor) {
  TensorImpl& impl = checked(tensor.impl_ptr());
  if (!impl.autograd) {
    impl.autograd = std::make_shared<AutogradState>();
    impl.autograd->desc = impl.desc;
    impl.autograd->shape = impl.shape;
    impl.autograd->name = impl.name;
    impl.autograd->owner = tensor.impl_ptr();
  }
  return impl.autograd;
}

bool Tensor::requires_grad() const { return impl_ && impl_->autograd && impl_->autograd->requires_grad; }
Tensor& Tensor::set_requires_grad(bool enabled) {
  SUGAR_CHECK(is_leaf(), "set_requires_grad: only leaf tensors (parameters, inputs) can be marked");
  autograd_state(*this)->requires_grad = enabled;
  return *this;
}
bool Tensor::is_leaf() const { return !checked(impl_).autograd || impl_->autograd->is_leaf; }
Tensor Tensor::grad() const { return checked(impl_).autograd ? impl_->autograd->grad : Tensor(); }
void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined())
    SUGAR_CHECK(grad.shape() == shape(), "set_grad: gradient shape ", to_string(grad.shape()),
                " differs from tensor shape ", to_string(shape()));
  autograd_state(*this)->grad = grad;
}
void Tensor::zero_grad() {
  if (checked(impl_).autograd) impl_->autograd->grad = Tensor();
}
void Tensor::set_grad_ready_hook(std::function<void(Tensor&)> hook) {
  autograd_state(*this)->grad_ready_hook = std::move(hook);
}
const std::string& Tensor::name() const { return checked(impl_).name; }
Tensor& Tensor::set_name(std::string name) {
  if (checked(impl_).autograd) impl_->autograd->name = name;
  impl_->name = std::move(name);
  return *this;
}

// ---- text ---------------------------------------------------------------------------------------

std::string to_string(const Shape& shape) { return shape_string(shape); }

std::string describe(const memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  std::string out = desc.data_type() == memory::data_type::f32    ? "f32 "
                    : desc.data_type() == memory::data_type::bf16 ? "bf16 "
                                                                   : "dt" + std::to_string(d.data_type) + " ";
  out += shape_string(desc.dims());
  if (d.format_kind == dnnl_format_kind_wino) {
    // Every field: two Winograd weight layouts of one shape differ only here (oneDNN picks the
    // blocking per minibatch), and a primitive-cache key that left them out made a weight reorder
    // built for one of them serve the other (wrong weights at a short last evaluation batch).
    const dnnl_wino_desc_t& w = d.format_desc.wino_desc;
    char adj_scale[32];
    std::snprintf(adj_scale, sizeof(adj_scale), "%a", static_cast<double>(w.adj_scale));
    return out + " wino" + std::to_string(w.wino_format) + " r" + std::to_string(w.r) + " alpha" +
           std::to_string(w.alpha) + " ic" + std::to_string(w.ic) + " oc" + std::to_string(w.oc) + " icb" +
           std::to_string(w.ic_block) + " ocb" + std::to_string(w.oc_block) + " ic2b" + std::to_string(w.ic2_block) +
           " oc2b" + std::to_string(w.oc2_block) + " scale" + adj_scale + " size" + std::to_string(w.size);
  }
  if (d.format_kind != dnnl_blocked) return out + " kind" + std::to_string(d.format_kind);
  const auto& blk = d.format_desc.blocking;
  out += " strides";
  for (int i = 0; i < d.ndims; ++i) out += ":" + std::to_string(blk.strides[i]);
  for (int i = 0; i < blk.inner_nblks; ++i)
    out += " blk" + std::to_string(blk.inner_blks[i]) + static_cast<char>('a' + blk.inner_idxs[i]);
  if (d.offset0) out += " off" + std::to_string(d.offset0);
  return out;
}

}  // namespace sugar
