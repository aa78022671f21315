#pragma once
// Everything in sugar::nn in one include.
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/nn/relu.hpp"
#include "sugar/nn/sequential.hpp"
