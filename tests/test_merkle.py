"""RFC 6962 Merkle trees: the published test vectors, and every proof of every small tree."""

from __future__ import annotations

import hashlib

import pytest
from ecm_runtime import merkle

# The Certificate Transparency reference leaves, roots and proofs (RFC 6962's test data, as
# transparency-dev/merkle publishes them): a tree no other implementation agrees with
# proves nothing to anyone else.
ENTRIES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
ENTRIES.append("606162636465666768696a6b6c6d6e6f")
LEAVES = [merkle.leaf_hash(bytes.fromhex(e)) for e in ENTRIES]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, path)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
]  # fmt: skip


def test_the_published_roots() -> None:
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    for size, expected in enumerate(ROOTS):
        assert merkle.root(LEAVES[:size]).hex() == expected, size


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_the_published_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    tree = LEAVES[:size]
    assert [p.hex() for p in merkle.inclusion_proof(tree, index)] == path
    proof = [bytes.fromhex(p) for p in path]
    assert merkle.verify_inclusion(tree[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_the_published_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    assert [p.hex() for p in merkle.consistency_proof(LEAVES[:new], old)] == path
    proof = [bytes.fromhex(p) for p in path]
    roots = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert merkle.verify_consistency(old, new, *roots, proof)


MANY = [merkle.leaf_hash(bytes([i, i * 7 % 256])) for i in range(37)]


@pytest.mark.parametrize("size", range(1, len(MANY) + 1))
def test_every_inclusion_proof_verifies_and_nothing_near_it_does(size: int) -> None:
    tree = MANY[:size]
    top = merkle.root(tree)
    for index in range(size):
        proof = merkle.inclusion_proof(tree, index)
        assert merkle.verify_inclusion(tree[index], index, size, proof, top)
        other = MANY[(index + 1) % len(MANY)]
        assert not merkle.verify_inclusion(other, index, size, proof, top)
        if size > 1:
            assert not merkle.verify_inclusion(tree[index], index ^ 1, size, proof, top)
            assert not merkle.verify_inclusion(tree[index], index, size, proof[:-1], top)
            bent = [bytes(32), *proof[1:]]
            assert not merkle.verify_inclusion(tree[index], index, size, bent, top)


@pytest.mark.parametrize("size", range(1, len(MANY) + 1))
def test_every_consistency_proof_verifies_and_a_rewritten_prefix_does_not(size: int) -> None:
    tree = MANY[:size]
    top = merkle.root(tree)
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(tree, old)
        old_root = merkle.root(tree[:old])
        assert merkle.verify_consistency(old, size, old_root, top, proof)
        forged = merkle.root([MANY[-1], *tree[1:old]])
        if forged != old_root:
            assert not merkle.verify_consistency(old, size, forged, top, proof)
        if old < size:
            assert not merkle.verify_consistency(old, size, old_root, top, proof[:-1])
            bent = [*proof[:-1], bytes(32)]
            assert not merkle.verify_consistency(old, size, old_root, top, bent)
