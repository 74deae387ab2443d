"""A ViT search space with AutoFormer's dimensions: depth, embedding width, per-layer heads and
per-layer MLP ratio (the AutoFormer-Tiny supernet of Chen et al., ICCV 2021).

An arch is compact JSON with sorted keys:

    {"depth":13,"embed_dim":216,"heads":[3,4,...],"mlp_ratio":[3.5,4,...]}

depth in {12, 13, 14}; embed_dim in {192, 216, 240}; `heads` and `mlp_ratio` list one choice per
layer, from {3, 4} and {3.5, 4}. That is 3 x (4^12 + 4^13 + 4^14), about 1.1e9 archs.

No permissive accuracy table for such a space exists offline, so the space ships no labels: they
come from real training (`label_training`, `python -m hypernas_core label --space vit`) or from a
user's import (`python -m hypernas_core labels --space vit`).

Graphs. The `cell` encoding is the network as a path: an input node whose op names the embedding
width, one node per transformer block whose op names its heads and MLP ratio, the output. The
`global` encoding has one graph per block (chains of 12 to 14, padded to 14), each 7 nodes:
input (`embed_<e>`) -> `qkv_h<h>` -> `attn_proj` -> `attn_add` (also fed by the input, the
residual) -> `fc1_r<r>` -> `fc2` -> output (also fed by `attn_add`).

Shapes:
    B archs, C = 14 blocks, N = 7 nodes per block graph, M images, T tokens, E token width.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from hypernas_core.search_space import CellGraph, ChainBatch, SearchSpace, register_space
from hypernas_core.target_net import TargetNet, take_kernel

DEPTHS = (12, 13, 14)
EMBED_DIMS = (192, 216, 240)
HEADS = (3, 4)
MLP_RATIOS = (3.5, 4.0)
BLOCK_NODES = 7
PATCH = 2  # patch size of the target net (8x8 digits give 16 tokens, 32x32 CIFAR-10 256)
MAX_TOKENS = 256


@dataclass(frozen=True)
class ViTArch:
    """A parsed ViT arch."""

    depth: int
    embed_dim: int
    heads: tuple[int, ...]
    mlp_ratio: tuple[float, ...]


def _ratio_name(r: float) -> str:
    return f"{r:g}"  # 3.5, 4


def _block_adjacency() -> np.ndarray:
    adj = np.zeros((BLOCK_NODES, BLOCK_NODES), dtype=np.uint8)
    for i, j in ((0, 1), (1, 2), (2, 3), (0, 3), (3, 4), (4, 5), (5, 6), (3, 6)):
        adj[i, j] = 1
    return adj


BLOCK_ADJ = _block_adjacency()


@register_space
class ViTSpace(SearchSpace):
    """AutoFormer-Tiny dimensions; labels from real training or import only."""

    name = "vit"
    title = "ViT (AutoFormer-Tiny dimensions)"
    op_vocab = (
        "input",
        "output",
        *(f"embed_{e}" for e in EMBED_DIMS),
        *(f"block_h{h}_r{_ratio_name(r)}" for h in HEADS for r in MLP_RATIOS),
        *(f"qkv_h{h}" for h in HEADS),
        "attn_proj",
        "attn_add",
        *(f"fc1_r{_ratio_name(r)}" for r in MLP_RATIOS),
        "fc2",
    )
    kernel_sizes = {
        **{f"qkv_h{h}": 1 for h in HEADS},
        "attn_proj": 1,
        **{f"fc1_r{_ratio_name(r)}": 1 for r in MLP_RATIOS},
        "fc2": 1,
    }
    label_columns = ("aux_test_acc",)
    default_label = "aux_test_acc"
    max_nodes = max(DEPTHS) + 2

    def parse(self, arch: str) -> ViTArch:
        """Parses the JSON arch string.

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(f"ViT arch must be a JSON string (got {type(arch).__name__} {arch!r})")
        try:
            data = json.loads(arch)
        except json.JSONDecodeError:
            raise ValueError(
                'ViT arch must be JSON like {"depth":12,"embed_dim":192,"heads":[...],'
                f'"mlp_ratio":[...]}} (got {arch!r})'
            ) from None
        keys = {"depth", "embed_dim", "heads", "mlp_ratio"}
        if not isinstance(data, dict) or set(data) != keys:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"ViT arch needs exactly the keys {sorted(keys)} (got {got})")
        depth, embed = data["depth"], data["embed_dim"]
        if depth not in DEPTHS or isinstance(depth, bool):
            raise ValueError(f"ViT depth must be one of {DEPTHS} (got {depth!r})")
        if embed not in EMBED_DIMS or isinstance(embed, bool):
            raise ValueError(f"ViT embed_dim must be one of {EMBED_DIMS} (got {embed!r})")
        for key, valid in (("heads", HEADS), ("mlp_ratio", MLP_RATIOS)):
            values = data[key]
            if not isinstance(values, list) or len(values) != depth:
                raise ValueError(
                    f"ViT {key} must list one value per layer ({depth}) (got {values!r})"
                )
            bad = [v for v in values if isinstance(v, bool) or v not in valid]
            if bad:
                raise ValueError(f"ViT {key} values must be in {valid} (got {bad[0]!r})")
        return ViTArch(
            depth,
            embed,
            tuple(int(h) for h in data["heads"]),
            tuple(float(r) for r in data["mlp_ratio"]),
        )

    def format(self, parsed: ViTArch) -> str:
        """Compact JSON with sorted keys; integer MLP ratios are written as integers (4, not 4.0)."""
        ratios = [int(r) if float(r).is_integer() else float(r) for r in parsed.mlp_ratio]
        data = {
            "depth": parsed.depth,
            "embed_dim": parsed.embed_dim,
            "heads": list(parsed.heads),
            "mlp_ratio": ratios,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    def from_dims(
        self, depth: int, embed_dim: int, heads: Sequence[int], mlp_ratio: Sequence[float]
    ) -> str:
        """The canonical arch string of the given dimensions, validated."""
        return self.validate(
            json.dumps(
                {
                    "depth": depth,
                    "embed_dim": embed_dim,
                    "heads": list(heads),
                    "mlp_ratio": list(mlp_ratio),
                }
            )
        )

    # the set of archs

    def sample(self, n: int, seed: int) -> list[str]:
        """Draws `n` distinct archs, every dimension uniformly (as AutoFormer samples subnets)."""
        if not 0 < n <= 1_000_000:
            raise ValueError(f"n must be in 1..1000000 for ViT sampling (got {n!r})")
        rng = np.random.default_rng(seed)
        archs: list[str] = []
        seen: set[str] = set()
        while len(archs) < n:
            depth = int(rng.choice(DEPTHS))
            arch = self.from_dims(
                depth,
                int(rng.choice(EMBED_DIMS)),
                [int(h) for h in rng.choice(HEADS, depth)],
                [float(r) for r in rng.choice(MLP_RATIOS, depth)],
            )
            if arch not in seen:
                seen.add(arch)
                archs.append(arch)
        return archs

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes one dimension: the depth (adding or dropping the last layer), the embedding
        width, or one layer's heads or MLP ratio."""
        a = self.parse(arch)
        heads, ratios = list(a.heads), list(a.mlp_ratio)
        depth, embed = a.depth, a.embed_dim
        what = rng.choice(["depth", "embed_dim", "heads", "mlp_ratio"])
        if what == "depth":
            depth = int(rng.choice([d for d in DEPTHS if d != depth]))
            while len(heads) < depth:
                heads.append(int(rng.choice(HEADS)))
                ratios.append(float(rng.choice(MLP_RATIOS)))
            heads, ratios = heads[:depth], ratios[:depth]
        elif what == "embed_dim":
            embed = int(rng.choice([e for e in EMBED_DIMS if e != embed]))
        else:
            layer = int(rng.integers(depth))
            if what == "heads":
                heads[layer] = int(rng.choice([h for h in HEADS if h != heads[layer]]))
            else:
                ratios[layer] = float(rng.choice([r for r in MLP_RATIOS if r != ratios[layer]]))
        return self.from_dims(depth, embed, heads, ratios)

    # labels: none bundled

    def label_table(self) -> pd.DataFrame:
        """Empty: no permissive ViT accuracy table exists offline; label by real training or
        import."""
        return pd.DataFrame(
            {"arch": pd.Series([], dtype=str), "aux_test_acc": pd.Series([], dtype=float)}
        )

    # graphs

    def cell_graph(self, arch: str) -> CellGraph:
        a = self.parse(arch)
        ops = (
            f"embed_{a.embed_dim}",
            *(f"block_h{h}_r{_ratio_name(r)}" for h, r in zip(a.heads, a.mlp_ratio, strict=True)),
            "output",
        )
        n = len(ops)
        adj = np.zeros((n, n), dtype=np.uint8)
        adj[np.arange(n - 1), np.arange(1, n)] = 1
        return CellGraph(ops, adj, "net")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        a = self.parse(arch)
        return [
            CellGraph(
                (
                    f"embed_{a.embed_dim}",
                    f"qkv_h{h}",
                    "attn_proj",
                    "attn_add",
                    f"fc1_r{_ratio_name(r)}",
                    "fc2",
                    "output",
                ),
                BLOCK_ADJ.copy(),
                "block",
            )
            for h, r in zip(a.heads, a.mlp_ratio, strict=True)
        ]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else max(DEPTHS)

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """As the base class; chains are padded to 14 blocks and block graphs to 7 nodes."""
        if encoding == "cell":
            return self._stack([[self.cell_graph(a)] for a in archs])
        batch = self._stack([self.macro_graphs(a) for a in archs], nodes=BLOCK_NODES)
        pad = max(DEPTHS) - batch.ops.shape[1]
        if pad > 0:  # pad to the deepest arch of the space, not of this batch
            batch = ChainBatch(
                F.pad(batch.ops, (0, 0, 0, pad)),
                F.pad(batch.adj, (0, 0, 0, 0, 0, pad)),
                F.pad(batch.mask, (0, 0, 0, pad)),
                F.pad(batch.kernel, (0, 0, 0, pad)),
            )
        return batch

    # target network

    @property
    def max_kernel_channels(self) -> int:
        return 3 * max(HEADS)  # the qkv projection: 3 x heads x head width (= width)

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return ViTTargetNet(width, in_channels, num_classes, self.op_vocab)


def reduced_embed_dim(embed_dim: int, width: int) -> int:
    """Token width of the target net: embed_dim * width / 96 (192, 216, 240 -> 8, 9, 10 at 4)."""
    return max(1, round(embed_dim * width / 96))


class ViTTargetNet(TargetNet):
    """A small ViT for the hypernetwork: every linear layer of every block is generated.

    Images are cut into 2x2 patches (16 tokens for 8x8 digits) by a shared learned patch embedding
    with a learned position embedding; the token width is E = embed_dim * C / 96 (C = width), each
    head is C wide. Pre-norm blocks: x + proj(attn(LN(x))), then x + fc2(GELU(fc1(LN(x)))); then
    LN, the token mean and a shared classifier. Layer norms have no affine parameters and the
    generated layers no biases.

    Archs of a batch differ in E, heads, MLP widths and depth, so everything runs at the largest
    sizes with per-arch masks: token channels beyond an arch's E, heads beyond its count and MLP
    units beyond its width are zeroed (their generated weights are cut to zero), layer norms
    normalise over the arch's own E channels, and blocks beyond its depth are skipped.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        self.head_dim = width
        self.embed_max = reduced_embed_dim(max(EMBED_DIMS), width)
        self.hidden_max = math.ceil(max(MLP_RATIOS) * self.embed_max)
        max_channels = 3 * max(HEADS) * width  # = width * ViTSpace.max_kernel_channels
        assert self.hidden_max <= max_channels, (self.hidden_max, max_channels)
        super().__init__(width, max_channels, in_channels, num_classes)
        self.op_name = dict(enumerate(op_vocab))
        self.patch_embed = nn.Conv2d(in_channels, self.embed_max, PATCH, stride=PATCH)
        self.position = nn.Parameter(torch.zeros(1, 1, MAX_TOKENS, self.embed_max))
        self.classifier = nn.Linear(self.embed_max, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.patch_embed.reset_parameters()
        nn.init.normal_(self.position, std=0.02)
        self.classifier.reset_parameters()

    def kernel_sizes_needed(self) -> tuple[int, ...]:
        return (1,)

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        """Shapes at the largest dimensions (4 heads, E for embed_dim 240, MLP ratio 4)."""
        heads = max(HEADS) * self.head_dim
        shapes = {
            1: (3 * heads, self.embed_max),
            2: (self.embed_max, heads),
            4: (self.hidden_max, self.embed_max),
            5: (self.embed_max, self.hidden_max),
        }
        if kernel_size != 1 or node not in shapes:
            raise ValueError(
                f"node {node} with kernel size {kernel_size} has no kernel in a ViT block; "
                "valid: nodes 1, 2, 4, 5 (k=1)"
            )
        return (*shapes[node], 1, 1)

    def _dims(self, chain: ChainBatch) -> tuple[list[int], list[list[int]], list[list[int]]]:
        """Per arch: token width E_b, and per block its heads and MLP width (0 past the depth)."""
        names = [[[self.op_name[o] for o in g] for g in arch] for arch in chain.ops.tolist()]
        real = chain.mask[:, :, 0].tolist()
        embeds, heads, hidden = [], [], []
        for arch, present in zip(names, real, strict=True):
            e = reduced_embed_dim(int(arch[0][0].removeprefix("embed_")), self.width)
            embeds.append(e)
            heads.append(
                [
                    int(g[1].removeprefix("qkv_h")) if p else 0
                    for g, p in zip(arch, present, strict=True)
                ]
            )
            hidden.append(
                [
                    round(float(g[4].removeprefix("fc1_r")) * e) if p else 0
                    for g, p in zip(arch, present, strict=True)
                ]
            )
        return embeds, heads, hidden

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """images (M, Ci, H, W), chain (B, 14, 7), kernels {1: (B, C, N, P_1)} -> (M, B, K)."""
        B, C, N = chain.ops.shape
        E = self.embed_max
        embeds, heads, hidden = self._dims(chain)
        device, dtype = images.device, images.dtype
        channel = torch.arange(E, device=device)
        e_mask = (channel < torch.tensor(embeds, device=device).unsqueeze(1)).to(dtype)  # (B, E)
        k1 = [g.unbind(1) for g in kernels[1].unbind(1)]  # [c][n]: (B, P_1)

        tokens = self.patch_embed(images).flatten(2).transpose(1, 2)  # (M, T, E)
        T = tokens.shape[1]
        if T > MAX_TOKENS:
            raise ValueError(f"the ViT target net takes at most {MAX_TOKENS} patches (got {T})")
        x = (tokens.unsqueeze(1) + self.position[:, :, :T]) * e_mask.view(
            1, B, 1, E
        )  # (M, B, T, E)
        for c in range(C):
            h = torch.tensor([hs[c] for hs in heads], device=device)  # (B,)
            u = torch.tensor([us[c] for us in hidden], device=device)  # (B,)
            active = (h > 0).to(dtype).view(1, B, 1, 1)  # (1, B, 1, 1): the arch has block c
            x = x + active * self._attention(x, k1[c], h, e_mask)
            x = x + active * self._mlp(x, k1[c], u, e_mask)
        x = _masked_layer_norm(x, e_mask).mean(dim=2)  # (M, B, E)
        return self.classifier(x)  # (M, B, K)

    def _linear(self, flat: torch.Tensor, out_ch: int, in_ch: int) -> torch.Tensor:
        """(B, out, in) weight of every arch from its flat generated kernel."""
        return take_kernel(flat, self.max_channels, out_ch, in_ch, 1)[..., 0, 0]

    def _attention(
        self, x: torch.Tensor, k1: Sequence[torch.Tensor], heads: torch.Tensor, e_mask: torch.Tensor
    ) -> torch.Tensor:
        """Multi-head self-attention of a pre-norm block: (M, B, T, E) -> (M, B, T, E)."""
        M, B, T, E = x.shape
        H, Hd = max(HEADS), self.head_dim
        head_mask = (torch.arange(H, device=x.device) < heads.unsqueeze(1)).to(x.dtype)  # (B, H)
        row_mask = head_mask.repeat_interleave(Hd, dim=1).repeat(1, 3)  # (B, 3 H Hd)
        w_qkv = self._linear(k1[1], 3 * H * Hd, E) * row_mask.unsqueeze(-1)  # (B, 3 H Hd, E)
        w_proj = self._linear(k1[2], E, H * Hd) * e_mask.unsqueeze(-1)  # (B, E, H Hd)

        qkv = torch.einsum("mbte,boe->mbto", _masked_layer_norm(x, e_mask), w_qkv)
        q, k, v = qkv.view(M, B, T, 3, H, Hd).unbind(3)  # 3 x (M, B, T, H, Hd)
        scores = torch.einsum("mbthd,mbshd->mbhts", q, k) / math.sqrt(Hd)  # (M, B, H, T, T)
        attended = torch.einsum("mbhts,mbshd->mbthd", scores.softmax(-1), v)  # (M, B, T, H, Hd)
        return torch.einsum("mbto,beo->mbte", attended.reshape(M, B, T, H * Hd), w_proj)

    def _mlp(
        self, x: torch.Tensor, k1: Sequence[torch.Tensor], units: torch.Tensor, e_mask: torch.Tensor
    ) -> torch.Tensor:
        """The MLP of a pre-norm block: (M, B, T, E) -> (M, B, T, E)."""
        E, U = x.shape[-1], self.hidden_max
        u_mask = (torch.arange(U, device=x.device) < units.unsqueeze(1)).to(x.dtype)  # (B, U)
        w1 = self._linear(k1[4], U, E) * u_mask.unsqueeze(-1)  # (B, U, E)
        w2 = self._linear(k1[5], E, U) * e_mask.unsqueeze(-1)  # (B, E, U)
        h = F.gelu(torch.einsum("mbte,bue->mbtu", _masked_layer_norm(x, e_mask), w1))
        return torch.einsum("mbtu,beu->mbte", h, w2)


def _masked_layer_norm(x: torch.Tensor, e_mask: torch.Tensor) -> torch.Tensor:
    """Layer norm over each arch's own channels: x (M, B, T, E), e_mask (B, E) -> (M, B, T, E)."""
    mask = e_mask.view(1, e_mask.shape[0], 1, -1)  # (1, B, 1, E)
    count = mask.sum(dim=-1, keepdim=True)  # (1, B, 1, 1)
    mean = (x * mask).sum(dim=-1, keepdim=True) / count
    var = (((x - mean) * mask) ** 2).sum(dim=-1, keepdim=True) / count
    return (x - mean) / torch.sqrt(var + 1e-5) * mask
