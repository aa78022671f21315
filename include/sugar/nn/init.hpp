#pragma once
// Weight initialisers (torch.nn.init), each filling a plain f32 tensor in place. Element i (row-major)
// takes draw i of the given stream, so the values do not depend on thread count or on other tensors.
// Layers call these from reset_parameters with init_stream(param, seed); model builders may call them
// again after nn::initialize to override a layer's default (e.g. torchvision VGG's N(0, 0.01) linears).
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/random.hpp"
#include "sugar/tensor.hpp"

namespace sugar::nn::init {

// RandomStream(seed, "init/" + param.name()): the stream every initial value of `param` comes from.
RandomStream init_stream(const Tensor& param, uint64_t seed);

// PyTorch's _calculate_fan_in_and_fan_out for a weight [O, I, k...]: fan_in = I * prod(k),
// fan_out = O * prod(k) (grouped convolutions are not divided by groups, as in PyTorch).
int64_t fan_in(const Tensor& weight);
int64_t fan_out(const Tensor& weight);

void constant_(Tensor& t, float value);
void uniform_(Tensor& t, double low, double high, const RandomStream& rng);
void normal_(Tensor& t, double mean, double std, const RandomStream& rng);

// How convolutions are initialised (model.init; Conv2d::reset_parameters draws it):
//   pytorch_default  what torch.nn.Conv2d does when left alone: weight kaiming_uniform_(a=sqrt(5)), that
//                    is U(+-1/sqrt(fan_in)), and bias U(+-1/sqrt(fan_in)). The CIFAR reference code for
//                    these models (kuangliu/pytorch-cifar) leaves PyTorch's default.
//   torchvision      torchvision's ResNet/VGG convolution init: weight N(0, 2 / fan_out)
//                    (kaiming_normal_, mode='fan_out', nonlinearity='relu'), bias 0. About 2.4x larger
//                    weights than pytorch_default for a 3x3 convolution with as many inputs as outputs.
// Linear layers and batch norm are initialised as PyTorch's defaults under both (torchvision's own VGG
// draws its classifier from N(0, 0.01); Sugar's torchvision scheme never did, and is kept as it was so
// that older runs reproduce).
//   trunc_normal     ConvNeXt's (torchvision's and timm's _init_weights): every Conv2d and Linear weight
//                    from N(0, 0.02^2) truncated to [-2, 2] (trunc_normal_(std=0.02)), biases 0.
//   torchvision_mobilenet  torchvision's MobileNetV3: convolutions as torchvision (above, biases 0),
//                    and Linear weights N(0, 0.01), biases 0.
enum class ConvInit { pytorch_default, torchvision, trunc_normal, torchvision_mobilenet };
// "pytorch_default", "torchvision", "trunc_normal", "torchvision_mobilenet" (model.init's words;
// sugar/name_table.hpp).
const NameTable<ConvInit>& names_of(ConvInit);
const std::vector<std::string>& conv_init_names();  // the words, in enum order
// Throws sugar::Error (usage) naming the valid names for anything else.
ConvInit parse_conv_init(const std::string& name);
const std::string& conv_init_name(ConvInit init);

// torch.nn.init.trunc_normal_(t, mean, std, a, b): N(mean, std^2) conditioned on [a, b]. Element i
// draws from counters i, i + n, i + 2n, ... (n = t.numel()) until a draw lands inside, so the values
// still depend only on the stream. [a, b] must hold at least a tenth of the probability mass.
void trunc_normal_(Tensor& t, double mean, double std, double a, double b, const RandomStream& rng);

// kaiming_normal_(w, mode='fan_out', nonlinearity='relu'): N(0, 2 / fan_out). torchvision's conv init.
void kaiming_normal_fan_out_relu_(Tensor& weight, const RandomStream& rng);
// kaiming_uniform_(w, a=sqrt(5)), PyTorch's default for Linear and Conv weights, which reduces to
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void kaiming_uniform_default_(Tensor& weight, const RandomStream& rng);
// PyTorch's default bias of Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in of `weight`.
void uniform_default_bias_(Tensor& bias, const Tensor& weight, const RandomStream& rng);

}  // namespace sugar::nn::init
