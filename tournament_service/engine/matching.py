"""Maximum matching by Edmonds' blossom algorithm, over graphs where two vertices are adjacent when
they have not met: the rematch guarantee of the Swiss pairing (`swiss`)."""
from collections import deque

UNMATCHED = -1


def augment(root, alive, mate, met):
    """Look for an augmenting path from the unmatched `root` among `alive`; flip it into `mate`.

    Edmonds' blossom algorithm, one search: a breadth-first alternating tree from `root`, odd
    cycles (blossoms) contracted onto their base. Two vertices are adjacent when they have not
    met. Returns whether `mate` grew by one pair.

    The graph is dense (a team has met only a few of the others), so two shortcuts matter: as
    soon as a vertex becomes outer, an unmatched neighbour is looked for among the few unmatched
    vertices (most paths have length 1 or 3; without this the search contracts a blossom for
    nearly every pair around the root first); and the others are scanned from the end of `alive`
    (the bottom of the ranking), so that a repair reshuffles the low-ranked pairs, which the
    pairing decides last anyway, and leaves the top ones as they are.
    """
    size = len(mate)
    base = list(range(size))
    parent = [UNMATCHED] * size
    in_tree = [False] * size  # the outer (even) vertices, the ones the search grows from
    in_tree[root] = True
    scan = alive[::-1]
    exposed = [u for u in scan if mate[u] == UNMATCHED and u != root]

    def reaches_exposed(v):
        """Close the path at an unmatched neighbour of the outer `v`, if it has one."""
        end = next((u for u in exposed if u not in met[v]), None)
        if end is None:
            return False
        parent[end] = v
        _flip(end, parent, mate)
        return True

    if reaches_exposed(root):
        return True
    queue = deque([root])
    while queue:
        v = queue.popleft()
        for u in scan:
            if base[u] == base[v] or mate[v] == u or u in met[v]:
                continue
            if u == root or (mate[u] != UNMATCHED and parent[mate[u]] != UNMATCHED):
                # u is outer too: v-u closes an odd cycle; contract it.
                _contract(v, u, alive, base, parent, mate, in_tree, queue)
            elif parent[u] == UNMATCHED:
                parent[u] = v
                if mate[u] == UNMATCHED:
                    _flip(u, parent, mate)
                    return True
                if reaches_exposed(mate[u]):
                    return True
                in_tree[mate[u]] = True
                queue.append(mate[u])
    return False


def _contract(v, u, alive, base, parent, mate, in_tree, queue):
    """Shrink the blossom closed by the edge v-u onto its base; its inner vertices become outer."""
    common = _common_base(v, u, base, parent, mate)
    in_blossom = set()
    _mark_path(v, common, u, base, parent, mate, in_blossom)
    _mark_path(u, common, v, base, parent, mate, in_blossom)
    for w in alive:
        if base[w] in in_blossom:
            base[w] = common
            if not in_tree[w]:
                in_tree[w] = True
                queue.append(w)


def _common_base(a, b, base, parent, mate):
    """The base of the nearest common ancestor of outer vertices `a` and `b` in the tree."""
    seen = set()
    while True:
        a = base[a]
        seen.add(a)
        if mate[a] == UNMATCHED:
            break  # the root
        a = parent[mate[a]]
    while True:
        b = base[b]
        if b in seen:
            return b
        b = parent[mate[b]]


def _mark_path(v, common, child, base, parent, mate, in_blossom):
    """Walk from `v` up to the blossom base `common`, re-pointing parents through the blossom."""
    while base[v] != common:
        in_blossom.add(base[v])
        in_blossom.add(base[mate[v]])
        parent[v] = child
        child = mate[v]
        v = parent[mate[v]]


def _flip(end, parent, mate):
    """Swap matched and unmatched edges along the augmenting path ending at `end`."""
    v = end
    while v != UNMATCHED:
        before = parent[v]
        after = mate[before]
        mate[v], mate[before] = before, v
        v = after
