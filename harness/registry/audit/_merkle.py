"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

The audit log's records are the leaves of the tree Certificate Transparency
logs use, so anyone can check, with a few lines of code of their own and no
trust in finegate, that a record is in a log of a given size (inclusion) and
that a later log still holds an earlier one unchanged (consistency). Hashes
are raw 32-byte SHA-256 values; the domain separation bytes (0x00 for a leaf,
0x01 for a node) keep a leaf from passing for a node.

Proofs are built from the list of leaf hashes, which the caller reads from the
store: the log holds thousands of records, not billions, so no node cache is
kept and nothing can go stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of these leaf hashes, bottom-up: the pairs of each
    level are hashed and an odd last node is carried up unchanged, which gives
    the same tree as RFC 9162's recursive definition."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``leaves`` (RFC 9162 2.1.3.1)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:  # walk down, collecting the sibling subtree of each level
        k = _split(hi - lo)
        if index - lo < k:
            path.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of(leaves[lo : lo + k]))
            lo += k
    return path[::-1]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that the first ``old_size`` leaves are a prefix of ``leaves``
    (RFC 9162 2.1.4.1)."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from size {old_size} to {n}")
    lo, hi, m = 0, n, old_size  # m counts from lo
    on_the_left_edge = True  # the old tree is a subtree the verifier holds the hash of
    outer: list[bytes] = []
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            outer.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            outer.append(root_of(leaves[lo : lo + k]))
            lo, m, on_the_left_edge = lo + k, m - k, False
    inner = [] if on_the_left_edge else [root_of(leaves[lo:hi])]
    return inner + outer[::-1]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: the audit path leads from the leaf hash to ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: the tree of ``new_size`` extends the tree of ``old_size``."""
    if old_size == 0:  # the empty tree is a prefix of every tree
        return not proof
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
