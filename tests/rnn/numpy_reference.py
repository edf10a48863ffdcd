"""An independent NumPy implementation of the equations in ``docs/recurrent-dropout.md``, written from
the equations alone, for checking the TensorFlow cells. Masks are given batch-first, as users pass
them: lane masks ``(B, ...)``, step-scope masks ``(B, T, ...)``, the weight mask ``(u, G*u)``.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def inference_constant(scheme: str, scaling: str, rate: float) -> float:
    """The contract's scaling table at inference (zoneout: d is replaced by its mean)."""
    if scheme == "zoneout":
        return rate
    return 1.0 - rate if scaling == "expectation" else 1.0


def _at(mask, t, scope):
    """This step's mask: step-scope masks carry a time axis."""
    if mask is None or np.ndim(mask) == 0:
        return mask
    return mask[:, t] if scope == "step" else mask


def run(kind, x, kernel, recurrent_kernel, bias, h0, c0, masks, scheme, scope, tied=False):
    """Run the contract's LSTM (kind="lstm") or GRU (kind="gru", reset_after) over ``x`` (B, T, d).

    ``masks`` maps "input", "recurrent", "update", "memory", "zoneout_h", "zoneout_c", "weight" to
    arrays or scalars (absent = no mask). Returns (outputs (B, T, u), h_T, c_T or None).
    """
    B, T, _ = x.shape
    u = recurrent_kernel.shape[0]
    gates = 4 if kind == "lstm" else 3
    U = recurrent_kernel * masks["weight"] if "weight" in masks else recurrent_kernel
    Uk = [U[:, k * u : (k + 1) * u] for k in range(gates)]
    Wk = [kernel[:, k * u : (k + 1) * u] for k in range(gates)]
    h = h0.astype(np.float64).copy()
    c = None if c0 is None else c0.astype(np.float64).copy()
    outputs = np.zeros((B, T, u))
    for t in range(T):
        xt = x[:, t]
        if "input" in masks:
            xt = xt * masks["input"]
        m_rec = _at(masks.get("recurrent"), t, scope)

        def rec(k, h=h, m_rec=m_rec):
            if m_rec is None:
                hk = h
            elif np.ndim(m_rec) == 0 or tied:
                hk = h * m_rec
            else:
                hk = h * m_rec[:, k]
            return hk @ Uk[k]

        if kind == "lstm":
            zi, zf, zg, zo = (xt @ Wk[k] + bias[k * u : (k + 1) * u] + rec(k) for k in range(4))
            i, f, o, g = sigmoid(zi), sigmoid(zf), sigmoid(zo), np.tanh(zg)
            if scheme == "semeniuta":
                g = g * _at(masks["update"], t, scope)
            c_new = f * c + i * g
            if scheme == "moon":
                c_new = _at(masks["memory"], t, scope) * c_new
            h_new = o * np.tanh(c_new)
            if scheme == "zoneout":
                d_c, d_h = _at(masks["zoneout_c"], t, scope), _at(masks["zoneout_h"], t, scope)
                c_new = d_c * c + (1 - d_c) * c_new
                h_new = d_h * h + (1 - d_h) * h_new
            h, c = h_new, c_new
        else:
            bx, bh = bias[0], bias[1]
            z = sigmoid(xt @ Wk[0] + bx[:u] + rec(0) + bh[:u])
            r = sigmoid(xt @ Wk[1] + bx[u : 2 * u] + rec(1) + bh[u : 2 * u])
            cand = np.tanh(xt @ Wk[2] + bx[2 * u :] + r * (rec(2) + bh[2 * u :]))
            if scheme == "semeniuta":
                cand = cand * _at(masks["update"], t, scope)
            h_new = z * h + (1 - z) * cand
            if scheme == "moon":
                h_new = _at(masks["memory"], t, scope) * h_new
            if scheme == "zoneout":
                d_h = _at(masks["zoneout_h"], t, scope)
                h_new = d_h * h + (1 - d_h) * h_new
            h = h_new
        outputs[:, t] = h
    return outputs, h, c
