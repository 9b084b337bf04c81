"""A multi-layer perceptron (다층 퍼셉트론) built from the layers in `engine.layers`.

Parameters live in one flat vector `theta`: for each dense layer in order, `W` of shape
(n_in, n_out) in row-major order, then `b`. The layers' `W` and `b` are views into it, and their
gradients are views into one flat gradient vector, so an update rule reads and writes plain
vectors and never needs to know the network's shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .layers import ACTIVATIONS, OUTPUTS, Affine, loss_layer
from .losses import Loss, get_loss


def _check_sizes(layer_sizes: Sequence[int]) -> list[int]:
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output size, got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    return [int(s) for s in sizes]


class MLP:
    """Dense layers with a hidden activation and an output activation; `MLP([1, 1])` is w·x + b."""

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "tanh",
        output: str = "linear",
        seed: int = 0,
    ) -> None:
        self.layer_sizes = _check_sizes(layer_sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}"
            )
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; known: {', '.join(OUTPUTS)}")
        if output == "softmax" and self.layer_sizes[-1] < 2:
            raise ValueError("a softmax output needs at least two units")
        self.activation = activation
        self.output = output
        self.seed = seed

        self.shapes: list[tuple[tuple[int, int], tuple[int]]] = [
            ((n_in, n_out), (n_out,))
            for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True)
        ]
        self.n_params = sum(a * b + b for (a, b), _ in self.shapes)
        self.theta = np.empty(self.n_params)
        self.grad = np.zeros(self.n_params)

        self.affines: list[Affine] = []
        self.layers: list = []  # up to the logits: Affine, activation, ..., Affine
        offset = 0
        for i, ((n_in, n_out), _) in enumerate(self.shapes):
            W = self.theta[offset : offset + n_in * n_out].reshape(n_in, n_out)
            dW = self.grad[offset : offset + n_in * n_out].reshape(n_in, n_out)
            offset += n_in * n_out
            b = self.theta[offset : offset + n_out]
            db = self.grad[offset : offset + n_out]
            offset += n_out
            affine = Affine(W, b)
            affine.dW, affine.db = dW, db
            self.affines.append(affine)
            self.layers.append(affine)
            if i < len(self.shapes) - 1:
                self.layers.append(ACTIVATIONS[activation]())
        self.output_layer = OUTPUTS[output]()
        self.last_layers: dict[str, object] = {}  # the output joined with each loss used
        self.set_params(self.initial_params(seed))

    # -- parameters -------------------------------------------------------------------------
    def initial_params(self, seed: int) -> np.ndarray:
        """Seeded initial weights: He for (leaky) ReLU, Glorot otherwise; biases zero."""
        rng = np.random.default_rng(seed)
        parts = []
        for (n_in, n_out), (nb,) in self.shapes:
            if self.activation in ("relu", "leaky_relu"):
                std = math.sqrt(2.0 / n_in)
            else:
                std = math.sqrt(2.0 / (n_in + n_out))
            parts.append(rng.normal(0.0, std, size=n_in * n_out))
            parts.append(np.zeros(nb))
        return np.concatenate(parts)

    def get_params(self) -> np.ndarray:
        """A copy of the flat parameter vector."""
        return self.theta.copy()

    def set_params(self, theta: np.ndarray) -> None:
        """Load a flat parameter vector (copied in)."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"params must have shape ({self.n_params},), got shape {theta.shape}"
            )
        self.theta[:] = theta

    def unflatten(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W, b) of each layer from a flat vector (or a stack of them: shape (..., n_params))."""
        out, offset = [], 0
        lead = theta.shape[:-1]
        for (n_in, n_out), _ in self.shapes:
            W = theta[..., offset : offset + n_in * n_out].reshape(*lead, n_in, n_out)
            offset += n_in * n_out
            b = theta[..., offset : offset + n_out]
            offset += n_out
            out.append((W, b))
        return out

    def param_names(self) -> list[str]:
        """Readable names: `w`, `b` for a two-parameter model, else `W1[0,0]`, `b1[0]`, ..."""
        if self.n_params == 2:
            return ["w", "b"]
        names = []
        for k, ((n_in, n_out), _) in enumerate(self.shapes, start=1):
            names += [f"W{k}[{i},{j}]" for i in range(n_in) for j in range(n_out)]
            names += [f"b{k}[{j}]" for j in range(n_out)]
        return names

    def copy(self) -> MLP:
        """An independent model with the same architecture and parameters."""
        other = MLP(self.layer_sizes, self.activation, self.output, self.seed)
        other.set_params(self.theta)
        return other

    # -- passes -----------------------------------------------------------------------------
    def logits(self, x: np.ndarray) -> np.ndarray:
        """Forward pass up to the output activation, caching what backward needs."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def back_from_logits(self, dout: np.ndarray) -> np.ndarray:
        """Backward pass from dL/dz, z the logits: `logits` undone, layer by layer."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Forward pass (순전파) through every layer, caching what backward needs."""
        return self.output_layer.forward(self.logits(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Backward pass (역전파) from dL/dy: the chain rule, layer by layer; fills `self.grad`."""
        return self.back_from_logits(self.output_layer.backward(dout))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs for inputs X (n, d) at the current parameters, without caching."""
        return self.predict_with(self.theta, X)

    def predict_with(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Outputs at parameters theta (n_params,) or a stack of them (P, n_params)."""
        hidden = ACTIVATIONS[self.activation].fn
        out = OUTPUTS[self.output].fn
        params = self.unflatten(np.asarray(theta, dtype=np.float64))
        a = np.asarray(X, dtype=np.float64)
        for i, (W, b) in enumerate(params):
            z = a @ W + b[..., None, :]
            a = out(z) if i == len(params) - 1 else hidden(z)
        return a

    def loss_layer(self, loss: Loss):
        """The output activation joined with `loss` (a SigmoidWithLoss for binary CE, ...)."""
        if loss.name not in self.last_layers:
            self.last_layers[loss.name] = loss_layer(self.output, loss)
        return self.last_layers[loss.name]

    def loss_and_grad(self, loss: Loss | str, x: np.ndarray, t: np.ndarray) -> float:
        """Forward, loss and backward on one batch; the gradient is left in `self.grad`.

        `t` are targets as `loss.targets` makes them. With a sigmoid or softmax output and the
        matching cross-entropy the last layer is fused with the loss: dL/dz = (y - t) / m.
        """
        last = self.loss_layer(get_loss(loss))
        value = last.forward(self.logits(x), t)
        self.back_from_logits(last.backward())
        return value

    def __repr__(self) -> str:
        return (
            f"MLP({self.layer_sizes}, activation={self.activation!r}, "
            f"output={self.output!r}, seed={self.seed})"
        )


class Evaluator:
    """Outputs on one fixed input set at the model's current parameters, fast.

    The trainer reports the full-data loss after every update, which costs one forward pass
    over all n samples per iteration. Here the bias rides inside the matrix product,
    [a, 1] @ [W; b] (the flat layout already stores each layer's W followed by b, which is
    exactly [W; b] in row-major order), and the buffers are allocated once. Same numbers as
    `predict`, about a third faster.
    """

    def __init__(self, model: MLP, X: np.ndarray) -> None:
        n = X.shape[0]
        self.hidden = ACTIVATIONS[model.activation].fn
        self.out = OUTPUTS[model.output].fn
        self.inputs = []
        for n_in in model.layer_sizes[:-1]:
            a = np.empty((n, n_in + 1))
            a[:, n_in] = 1.0
            self.inputs.append(a)
        self.inputs[0][:, :-1] = X
        self.Wb, offset = [], 0
        for (n_in, n_out), _ in model.shapes:
            size = (n_in + 1) * n_out
            self.Wb.append(model.theta[offset : offset + size].reshape(n_in + 1, n_out))
            offset += size

    def __call__(self) -> np.ndarray:
        last = len(self.Wb) - 1
        for i in range(last):
            self.inputs[i + 1][:, :-1] = self.hidden(self.inputs[i] @ self.Wb[i])
        return self.out(self.inputs[last] @ self.Wb[last])

