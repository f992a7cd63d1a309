"""The plastic RNN step in PyTorch, on the CPU: the peer of bench/torch_peer.ts.

The same math as bench/plastic_peers.ts, written as the authors' code writes it (w + alpha*P
materialised, then a batched matmul; rows postsynaptic):

  h  = tanh(x W_in^T + b_in + (w + alpha*P) h_prev)
  M  = tanh(h W_DA^T + b_DA)                     one modulation per episode
  D  = h (x) h_prev
  neuromodulated: P' = clip(P + M D, +-1)
  retroactive:    P' = clip(P + M E, +-1);  E' = (1 - eta) E + eta D

A server on stdin/stdout, one JSON object per line each way, answered in order:
  {"op": "hello", "threads": k}                -> {"torch": version, "threads": k}
  {"op": "case", "id", "kind": "step" | "episode", "spec", "params", "xs"}   -> {}
  {"op": "run", "id", "count"}                 -> {} once count runs are done
  {"op": "values", "spec", "params", "xs"}     -> {"loss", "grads": [base64 float32, ...]}
  {"op": "dispose", "id"}                      -> {}
Arrays travel as base64 of little-endian float32; params in PlasticRNN's layout (CellParams).
"""
import base64
import json
import sys

import numpy as np
import torch


def tensor(b64, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(b64), dtype=np.float32).copy()).reshape(shape)


def encode(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype(np.float32).tobytes()).decode()


def cell(spec, p):
    n, i = spec["n"], spec["inputSize"]
    return {
        "win": tensor(p["win"], [n, i]),
        "bIn": tensor(p["bIn"], [n]),
        "w": tensor(p["w"], [n, n]),
        "alpha": tensor(p["alpha"], [n, n]),
        "wDA": tensor(p["wDA"], [1, n]),
        "bDA": tensor(p["bDA"], [1]),
        "eta": tensor(p["eta"], [1]),
    }


def zero_state(spec):
    b, n = spec["batch"], spec["n"]
    traces = 2 if spec["rule"] == "retroactive" else 1
    return torch.zeros(b, n), [torch.zeros(b, n, n) for _ in range(traces)]


def step(rule, c, h0, traces, x, update=True):
    b, n = h0.shape
    p = traces[0]
    weff = c["w"] + c["alpha"] * p  # [B, N, N]
    rec = torch.bmm(weff, h0.unsqueeze(2)).view(b, n)
    h = torch.tanh(x @ c["win"].t() + c["bIn"] + rec)
    if not update:
        return h, traces
    m = torch.tanh(h @ c["wDA"].t() + c["bDA"]).view(b, 1, 1)
    delta = h.unsqueeze(2) * h0.unsqueeze(1)
    if rule == "neuromodulated":
        return h, [torch.clamp(p + m * delta, -1, 1)]
    e = traces[1]
    return h, [torch.clamp(p + m * e, -1, 1), (1 - c["eta"]) * e + c["eta"] * delta]


def episode(spec, c, xs):
    """Loss (the sum of every h over the episode) and its gradients w.r.t. w, alpha (and eta)."""
    diff = ["w", "alpha"] + (["eta"] if spec["rule"] == "retroactive" else [])
    c = {k: (v.clone().requires_grad_(True) if k in diff else v) for k, v in c.items()}
    h, traces = zero_state(spec)
    loss = 0
    for t, x in enumerate(xs):
        h, traces = step(spec["rule"], c, h, traces, x, t < len(xs) - 1)
        loss = loss + h.sum()
    return loss, torch.autograd.grad(loss, [c[k] for k in diff])


def make_case(kind, spec, c, xs):
    if kind == "episode":
        return lambda: episode(spec, c, xs)
    state = list(zero_state(spec))

    def run():
        with torch.no_grad():
            state[0], state[1] = step(spec["rule"], c, state[0], state[1], xs[0])

    return run


def main():
    cases = {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        out = {}
        if op == "hello":
            torch.set_num_threads(req["threads"])
            out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
        elif op in ("case", "values"):
            spec = req["spec"]
            c = cell(spec, req["params"])
            xs = [tensor(x, [spec["batch"], spec["inputSize"]]) for x in req["xs"]]
            if op == "case":
                cases[req["id"]] = make_case(req["kind"], spec, c, xs)
            else:
                loss, grads = episode(spec, c, xs)
                out = {"loss": loss.item(), "grads": [encode(g) for g in grads]}
        elif op == "run":
            run = cases[req["id"]]
            for _ in range(req["count"]):
                run()
        elif op == "dispose":
            del cases[req["id"]]
        else:
            raise ValueError(f"torch_peer: unknown op {op!r}")
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
