#include "sugar/ops/channel_layout.hpp"

#include <algorithm>
#include <utility>

#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::ops {

std::optional<ChannelLayout> channel_layout(const memory::desc& desc) {
  const dnnl_memory_desc_t& md = desc.data;
  if (md.ndims < 2 || !ops::is_dense_layout(desc)) return std::nullopt;
  const auto& blk = md.format_desc.blocking;
  ChannelLayout L;
  if (blk.inner_nblks == 1 && blk.inner_idxs[0] == 1)
    L.block = blk.inner_blks[0];
  else if (blk.inner_nblks != 0)
    return std::nullopt;  // blocks on other dimensions (weights' layouts), or two levels of blocking
  for (int d = 0; d < md.ndims; ++d)
    if (d != 1 && md.padded_dims[d] != md.dims[d]) return std::nullopt;
  if (md.dims[0] <= 0 || md.dims[1] <= 0 || md.padded_dims[1] % L.block != 0) return std::nullopt;
  L.batch = md.dims[0];
  L.channels = md.dims[1];
  L.channel_blocks = md.padded_dims[1] / L.block;
  L.sample_stride = blk.strides[0];
  L.block_stride = blk.strides[1];

  // The spatial dimensions must collapse into one axis: in order, each stride is the next one's times
  // the next one's size. Dimensions of size 1 take no part (their stride is arbitrary).
  int previous = -1;
  L.spatial_stride = 1;
  for (int d = 2; d < md.ndims; ++d) {
    if (md.dims[d] <= 0) return std::nullopt;
    if (md.dims[d] == 1) continue;
    if (previous >= 0 && blk.strides[previous] != blk.strides[d] * md.dims[d]) return std::nullopt;
    L.spatial *= md.dims[d];
    L.spatial_stride = blk.strides[d];
    previous = d;
  }

  // The four axes (lane, channel block, spatial position, sample) must tile [0, elements) exactly:
  // sorted by stride, each stride equals the product of the extents below it.
  std::vector<std::pair<int64_t, int64_t>> axes;  // (stride, extent), extents > 1 only
  if (L.block > 1) axes.emplace_back(1, L.block);
  if (L.channel_blocks > 1) axes.emplace_back(L.block_stride, L.channel_blocks);
  if (L.spatial > 1) axes.emplace_back(L.spatial_stride, L.spatial);
  if (L.batch > 1) axes.emplace_back(L.sample_stride, L.batch);
  std::sort(axes.begin(), axes.end());
  int64_t expected = 1;
  for (const auto& [stride, extent] : axes) {
    if (stride != expected) return std::nullopt;
    expected *= extent;
  }
  if (expected != L.elements()) return std::nullopt;
  return L;
}

ChannelView channel_view(const Tensor& x, const char* op) {
  SUGAR_CHECK(x.defined(), op, ": the input tensor is undefined");
  SUGAR_CHECK(x.ndim() >= 2, op, ": expected an input [N, C, ...] with at least 2 dimensions, got ",
              to_string(x.shape()));
  SUGAR_CHECK(x.numel() > 0, op, ": the input ", to_string(x.shape()), " is empty");
  Tensor t = x.to_dtype(DType::f32);
  if (std::optional<ChannelLayout> layout = channel_layout(t.desc())) return {t, *layout};
  t = t.to_desc(plain_desc(t.shape(), DType::f32));
  std::optional<ChannelLayout> layout = channel_layout(t.desc());
  SUGAR_CHECK(layout.has_value(), op, ": cannot iterate over the plain layout ", describe(t.desc()));
  return {t, *layout};
}

std::vector<float> padded_channel_values(const Tensor& values, int64_t rows, int64_t channels,
                                         int64_t padded_channels) {
  const std::vector<float> v = values.to_vector();
  SUGAR_CHECK(static_cast<int64_t>(v.size()) == rows * channels, "padded_channel_values: ", to_string(values.shape()),
              " does not hold ", rows, " x ", channels, " values");
  std::vector<float> padded(rows * padded_channels, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    std::copy(v.begin() + r * channels, v.begin() + (r + 1) * channels, padded.begin() + r * padded_channels);
  return padded;
}

Tensor restore_layout(const Tensor& y, const Tensor& like) {
  if (y.desc() == like.desc()) return y;
  return y.to_desc(like.desc());
}

Tensor tensor_from_channel_sums(const Shape& shape, const std::vector<double>& sums, size_t first, int64_t rows,
                                int64_t channels, int64_t padded_channels) {
  std::vector<float> values(rows * channels);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c)
      values[r * channels + c] = static_cast<float>(sums[first + r * padded_channels + c]);
  return Tensor::from_vector(shape, values);
}

}  // namespace sugar::ops
