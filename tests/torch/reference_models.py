"""PyTorch reference definitions for comparing Sugar with PyTorch (tests/torch/*.py), written in the style of
kuangliu/pytorch-cifar (models/resnet.py, models/vgg.py), the CIFAR code Sugar's models follow, so that the
state_dict names are Sugar's checkpoint names. The activations are nn.ReLU modules (parameter-free, so
absent from the state_dict, as kuangliu's F.relu and ReLU(inplace=True)) so that replace_relu can swap
each one for the SUGAR module.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- CIFAR ResNet-18 (kuangliu models/resnet.py) ----------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes))
        self.act2 = nn.ReLU()

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, num_blocks=(2, 2, 2, 2), num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.act1 = nn.ReLU()
        self.layer1 = self._make_layer(64, num_blocks[0], 1)
        self.layer2 = self._make_layer(128, num_blocks[1], 2)
        self.layer3 = self._make_layer(256, num_blocks[2], 2)
        self.layer4 = self._make_layer(512, num_blocks[3], 2)
        self.linear = nn.Linear(512 * BasicBlock.expansion, num_classes)

    def _make_layer(self, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes * BasicBlock.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(out.view(out.size(0), -1))


# ---- CIFAR VGG with batch norm (kuangliu models/vgg.py) ---------------------------------------------
# Each conv width c: Conv2d(in, c, 3, padding=1) (with a bias), BatchNorm2d(c), ReLU; "M": MaxPool2d(2, 2);
# then AvgPool2d(1, 1) (a no-op on the 1x1 map five max-pools leave of 32x32 images) and one Linear.
# Numbered as nn.Sequential numbers them: features.0.weight, features.1.running_var, ..., classifier.weight.

VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, name="vgg11", in_channels=3, num_classes=10):
        super().__init__()
        layers = []
        for width in VGG_CFG[name]:
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, width, kernel_size=3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
                in_channels = width
        layers.append(nn.AvgPool2d(kernel_size=1, stride=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.features(x)
        return self.classifier(out.view(out.size(0), -1))


# ---- SUGAR by forward gradient injection (the paper's formulation, with sg = detach) ---------------

ALPHA = 1.67


def bsilu(x):
    return (x + ALPHA) * torch.sigmoid(x) - ALPHA / 2


class SugarFGI(nn.Module):
    """m = x * sg(g'(x)); y = m - sg(m) + sg(relu(x)): the value of relu(x), the gradient g'(x).
    g' is taken by autograd from g itself, so no closed form of the derivative is trusted here."""

    def forward(self, x):
        with torch.enable_grad():
            xd = x.detach().requires_grad_(True)
            (g_prime,) = torch.autograd.grad(bsilu(xd).sum(), xd)
        m = x * g_prime.detach()
        return m - m.detach() + torch.relu(x).detach()


def replace_relu(module, factory):
    """Replaces every nn.ReLU module below `module` by factory(); returns how many."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, factory())
            count += 1
        else:
            count += replace_relu(child, factory)
    return count
