#include "sugar/ops/shape.hpp"

#include <cstring>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"

namespace sugar::ops {

Tensor flatten(const Tensor& x) {
  SUGAR_CHECK(x.ndim() >= 2, "flatten: expected [N, ...] with at least 2 dimensions, got ", to_string(x.shape()));
  const int64_t batch = x.dim(0);
  const int64_t features = x.numel() / batch;
  // A plain input is viewed without a copy; a blocked one is reordered once, here.
  Tensor y = x.to_plain().reshape({batch, features});
  autograd::record("flatten", {x}, {y}, [x_grad = autograd::grad_target(x), shape = x.shape()](const std::vector<Tensor>& grads) {
    // accumulate_grad reorders the plain gradient back to x's (possibly blocked) layout.
    autograd::accumulate_grad(x_grad, grads[0].to_plain().reshape(shape));
  });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  SUGAR_CHECK(x.defined(), "reshape: the input is undefined");
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  SUGAR_CHECK(count == x.numel(), "reshape: cannot view ", to_string(x.shape()), " as ", to_string(shape));
  Tensor y = x.to_plain().reshape(shape);
  if (autograd::needs_grad({x}))
    autograd::record("reshape", {x}, {y}, [x_grad = autograd::grad_target(x), from = x.shape()](const std::vector<Tensor>& grads) {
      autograd::accumulate_grad(x_grad, grads[0].to_plain().reshape(from));
    });
  return y;
}

}  // namespace sugar::ops

namespace sugar::ops {
namespace {

int normalized_axis(const char* op, const Tensor& x, int axis) {
  const int n = x.ndim();
  SUGAR_CHECK(axis >= -n && axis < n, op, ": axis ", axis, " does not exist in ", to_string(x.shape()));
  return axis < 0 ? axis + n : axis;
}

// A plain tensor seen as [outer, dim(axis), inner] (the axes before, the axis, the axes after).
struct AxisSplit {
  int64_t outer = 1, length = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < axis; ++i) s.outer *= shape[i];
  s.length = shape[axis];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

// Copies `rows` x `row_bytes` blocks: the building block of slice, concat and roll (outer blocks in
// parallel; each block a memcpy).
void copy_blocks(const char* src, int64_t src_stride, char* dst, int64_t dst_stride, int64_t outer, int64_t bytes) {
#pragma omp parallel for schedule(static) if (outer * bytes > (1 << 16))
  for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * dst_stride, src + o * src_stride, static_cast<size_t>(bytes));
}

Tensor permute_values(const Tensor& x, const std::vector<int>& order) {
  const Tensor plain = x.to_plain();
  const int n = x.ndim();
  memory::dims strides(static_cast<size_t>(n), 1);
  for (int i = n - 2; i >= 0; --i) strides[i] = strides[i + 1] * x.dim(i + 1);
  memory::dims dims(static_cast<size_t>(n)), view_strides(static_cast<size_t>(n));
  Shape shape(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    dims[i] = shape[i] = x.dim(order[i]);
    view_strides[i] = strides[order[i]];
  }
  const memory::desc view(dims, to_dnnl(x.dtype()), view_strides);
  return Tensor::from_storage(plain.storage(), view).to_plain();
}

Tensor slice_values(const Tensor& x, int axis, int64_t start, int64_t length) {
  const Tensor plain = x.to_plain();
  const AxisSplit s = split_at(x.shape(), axis);
  Shape shape = x.shape();
  shape[axis] = length;
  Tensor y = Tensor::from_desc(plain_desc(shape, x.dtype()));
  const int64_t element = static_cast<int64_t>(dtype_size(x.dtype()));
  copy_blocks(static_cast<const char*>(plain.raw_data()) + start * s.inner * element, s.length * s.inner * element,
              static_cast<char*>(y.raw_data()), length * s.inner * element, s.outer, length * s.inner * element);
  return y;
}

Tensor roll_values(const Tensor& x, int axis, int64_t shift) {
  const Tensor plain = x.to_plain();
  const AxisSplit s = split_at(x.shape(), axis);
  Tensor y = Tensor::from_desc(plain.desc());
  const int64_t k = ((shift % s.length) + s.length) % s.length;  // y[i] = x[i - k]: x[0:n-k] lands at y[k:n]
  const int64_t element = static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t row = s.length * s.inner * element, unit = s.inner * element;
  const char* src = static_cast<const char*>(plain.raw_data());
  char* dst = static_cast<char*>(y.raw_data());
  copy_blocks(src, row, dst + k * unit, row, s.outer, (s.length - k) * unit);
  copy_blocks(src + (s.length - k) * unit, row, dst, row, s.outer, k * unit);
  return y;
}

}  // namespace

Tensor permute(const Tensor& x, const std::vector<int>& order) {
  SUGAR_CHECK(x.defined(), "permute: the input is undefined");
  const int n = x.ndim();
  std::vector<int> inverse(static_cast<size_t>(n), -1);
  SUGAR_CHECK(static_cast<int>(order.size()) == n, "permute: ", order.size(), " axes given for ", to_string(x.shape()));
  for (int i = 0; i < n; ++i) {
    SUGAR_CHECK(order[i] >= 0 && order[i] < n && inverse[order[i]] < 0, "permute: the order is not a permutation of 0..",
                n - 1);
    inverse[order[i]] = i;
  }
  Tensor y = permute_values(x, order);
  if (autograd::needs_grad({x}))
    autograd::record("permute", {x}, {y}, [x_grad = autograd::grad_target(x), inverse](const std::vector<Tensor>& grads) {
      autograd::accumulate_grad(x_grad, permute_values(grads[0], inverse));
    });
  return y;
}

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t length) {
  SUGAR_CHECK(x.defined(), "slice: the input is undefined");
  axis = normalized_axis("slice", x, axis);
  SUGAR_CHECK(start >= 0 && length > 0 && start + length <= x.dim(axis), "slice: [", start, ", ", start + length,
              ") is not inside axis ", axis, " of ", to_string(x.shape()));
  Tensor y = slice_values(x, axis, start, length);
  if (autograd::needs_grad({x}))
    autograd::record("slice", {x}, {y},
                     [x_grad = autograd::grad_target(x), shape = x.shape(), dtype = x.dtype(), axis, start,
                      length](const std::vector<Tensor>& grads) {
                       // Zeros with the gradient copied into the slice's place.
                       Tensor dx = Tensor::from_desc(plain_desc(shape, dtype));
                       const Tensor dy = grads[0].to_plain().to_dtype(dtype);
                       const AxisSplit s = split_at(shape, axis);
                       const int64_t element = static_cast<int64_t>(dtype_size(dtype));
                       copy_blocks(static_cast<const char*>(dy.raw_data()), length * s.inner * element,
                                   static_cast<char*>(dx.raw_data()) + start * s.inner * element,
                                   s.length * s.inner * element, s.outer, length * s.inner * element);
                       autograd::accumulate_grad(x_grad, dx);
                     });
  return y;
}

Tensor concat(const std::vector<Tensor>& parts, int axis) {
  SUGAR_CHECK(!parts.empty() && parts[0].defined(), "concat: nothing to concatenate");
  axis = normalized_axis("concat", parts[0], axis);
  Shape shape = parts[0].shape();
  shape[axis] = 0;
  for (const Tensor& part : parts) {
    SUGAR_CHECK(part.defined() && part.ndim() == parts[0].ndim() && part.dtype() == parts[0].dtype(),
                "concat: every part needs the first's axes and data type");
    for (int i = 0; i < part.ndim(); ++i)
      SUGAR_CHECK(i == axis || part.dim(i) == parts[0].dim(i), "concat: ", to_string(part.shape()), " does not fit ",
                  to_string(parts[0].shape()), " beside it along axis ", axis);
    shape[axis] += part.dim(axis);
  }
  Tensor y = Tensor::from_desc(plain_desc(shape, parts[0].dtype()));
  const AxisSplit whole = split_at(shape, axis);
  const int64_t element = static_cast<int64_t>(dtype_size(parts[0].dtype()));
  int64_t offset = 0;
  for (const Tensor& part : parts) {
    const Tensor plain = part.to_plain();
    const int64_t bytes = part.dim(axis) * whole.inner * element;
    copy_blocks(static_cast<const char*>(plain.raw_data()), bytes,
                static_cast<char*>(y.raw_data()) + offset * whole.inner * element, whole.length * whole.inner * element,
                whole.outer, bytes);
    offset += part.dim(axis);
  }
  if (autograd::needs_grad(parts)) {
    std::vector<autograd::GradTarget> targets;
    std::vector<int64_t> lengths;
    for (const Tensor& part : parts) {
      targets.push_back(autograd::grad_target(part));
      lengths.push_back(part.dim(axis));
    }
    autograd::record("concat", parts, {y}, [targets, lengths, axis](const std::vector<Tensor>& grads) {
      int64_t start = 0;
      for (size_t i = 0; i < targets.size(); ++i) {
        autograd::accumulate_grad(targets[i], slice_values(grads[0], axis, start, lengths[i]));
        start += lengths[i];
      }
    });
  }
  return y;
}

Tensor roll(const Tensor& x, int axis, int64_t shift) {
  SUGAR_CHECK(x.defined(), "roll: the input is undefined");
  axis = normalized_axis("roll", x, axis);
  shift %= x.dim(axis);  // |shift| < n: the backward's -shift cannot overflow
  Tensor y = roll_values(x, axis, shift);
  if (autograd::needs_grad({x}))
    autograd::record("roll", {x}, {y}, [x_grad = autograd::grad_target(x), axis, shift](const std::vector<Tensor>& grads) {
      autograd::accumulate_grad(x_grad, roll_values(grads[0], axis, -shift));
    });
  return y;
}

}  // namespace sugar::ops
