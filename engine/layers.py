"""Layers (계층): one class per layer, `forward(x)` caches, `backward(dout)` returns `dx`.

The idiom of "밑바닥부터 시작하는 딥러닝": a network is a list of layers; the forward pass
(순전파) calls `forward` in order, the backward pass (역전파) calls `backward` in reverse, and
the chain rule (연쇄 법칙) is nothing more than passing `dout` from one layer to the one before.

Each activation also offers `fn(x)`, a pure function of any array shape, so the loss surface can
evaluate many parameter vectors at once without touching a layer's cache.

The last layer joins the output activation with the loss (`SigmoidWithLoss`, `SoftmaxWithLoss`):
`forward(x, t)` returns the loss and `backward()` the gradient at the logits, `(y - t) / batch_size`.
"""

from __future__ import annotations

import numpy as np


class Affine:
    """Weighted sum plus bias (가중치-편향 연산): out = x @ W + b."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W = W
        self.b = b
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        np.matmul(self.x.T, dout, out=self.dW)
        np.add.reduce(dout, axis=0, out=self.db)
        return dout @ self.W.T


class Identity:
    """Linear activation (항등 함수): out = x."""

    name = "linear"

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout


class Sigmoid:
    """Sigmoid (시그모이드): out = 1 / (1 + exp(-x)), computed without overflow."""

    name = "sigmoid"

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        # exp(700) is finite, so nothing overflows; below x = -700 the output is ~1e-304.
        return 1.0 / (1.0 + np.exp(-np.maximum(x, -700.0)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = self.fn(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.out * (1.0 - self.out)


class Tanh:
    """Hyperbolic tangent (쌍곡탄젠트): out = tanh(x)."""

    name = "tanh"

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out * self.out)


class Relu:
    """ReLU (렐루): out = max(0, x)."""

    name = "relu"

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask


class LeakyRelu:
    """Leaky ReLU: out = x for x > 0, else alpha * x (alpha = 0.01)."""

    name = "leaky_relu"
    alpha = 0.01

    def __init__(self) -> None:
        self.slope: np.ndarray | None = None

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, LeakyRelu.alpha * x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.slope = np.where(x > 0, 1.0, self.alpha)
        return x * self.slope

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.slope


class Softmax:
    """Softmax (소프트맥스): out = exp(x) / sum(exp(x)) along the last axis, row max subtracted."""

    name = "softmax"

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    @staticmethod
    def fn(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = self.fn(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        # Jacobian-vector product of softmax: y * (dout - sum(dout * y)).
        y = self.out
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


#: Hidden-layer activations (활성화 함수), by user-facing name.
ACTIVATIONS: dict[str, type] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": Relu,
    "leaky_relu": LeakyRelu,
    "linear": Identity,
}

#: Output activations, by user-facing name.
OUTPUTS: dict[str, type] = {
    "linear": Identity,
    "sigmoid": Sigmoid,
    "softmax": Softmax,
}


# -- the output activation joined with its loss (출력층 + 손실함수) ------------------------------
class OutputWithLoss:
    """Any output activation + any loss, by the chain rule: dx = output'(x) * dL/dy.

    `forward(x, t)` returns the loss; `backward(dout=1)` returns dL/dx (dout = dL/dL = 1, as in
    the textbook's `SoftmaxWithLoss.backward(dout=1)`).
    """

    def __init__(self, output: str, loss) -> None:
        self.layer = OUTPUTS[output]()
        self.loss = loss
        self.y: np.ndarray | None = None  # the output activation's output
        self.t: np.ndarray | None = None  # the targets, as the loss reads them

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        self.t = t
        self.y = self.layer.forward(x)
        return self.loss.mean(t, self.y)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        return self.layer.backward(self.loss.grad(self.t, self.y))


class SigmoidWithLoss(OutputWithLoss):
    """Sigmoid + binary cross-entropy (시그모이드 + 교차 엔트로피 오차): dx = (y - t) / batch_size."""

    def __init__(self, loss) -> None:
        super().__init__("sigmoid", loss)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        batch_size = self.t.shape[0]
        return (self.y - self.t) / batch_size


class SoftmaxWithLoss(OutputWithLoss):
    """Softmax + cross-entropy (소프트맥스 + 교차 엔트로피 오차): dx = (y - t) / batch_size."""

    def __init__(self, loss) -> None:
        super().__init__("softmax", loss)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot targets
            dx = self.y - self.t
        else:  # integer labels: subtract 1 at each sample's label
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1.0
        return dx / batch_size


#: The fused last layers, by output activation.
WITH_LOSS: dict[str, type] = {"sigmoid": SigmoidWithLoss, "softmax": SoftmaxWithLoss}


def loss_layer(output: str, loss) -> OutputWithLoss:
    """The last layer for an output activation and a loss: fused when the loss pairs with it."""
    if loss.fused and loss.output == output:
        return WITH_LOSS[output](loss)
    return OutputWithLoss(output, loss)
