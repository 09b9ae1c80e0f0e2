#!/usr/bin/env python3
"""bench/stack.py FILE.ci [--json]: worst-case stack depth from GCC's
-fcallgraph-info=su output (a VCG graph: one node per function with its
frame size from -fstack-usage, one edge per call site).

For every externally visible function (an API entry point) it prints the
deepest path through the call graph, summing the frames.  It says
"recursion: none" only after checking that the graph has no cycle (a
function calling itself, directly or through others); with a cycle the
depth is unbounded and it says so, naming the cycle.  Calls it cannot
follow are named: indirect calls (function pointers) and external
functions (memchr, memcpy, ... from the C library: their frames are not in
the graph and are not counted; on newlib and glibc these are leaf routines).
A frame marked "dynamic" (alloca, VLA) is flagged as unbounded.

Exit status 0 even when a goal is missed: the report says it; bench/size.sh
decides what to print.
"""
import re
import sys

NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"')
FRAME = re.compile(r'\\n(\d+) bytes \(([a-z,]+)\)')


def parse(path):
    text = open(path, encoding='utf-8', errors='replace').read()
    nodes, edges = {}, {}
    for title, label in NODE.findall(text):
        m = FRAME.search(label)
        if m:
            nodes[title] = (int(m.group(1)), m.group(2),
                            label.split('\\n')[0])
        else:
            nodes.setdefault(title, None)  # external or indirect
    for src, dst in EDGE.findall(text):
        edges.setdefault(src, [])
        if dst not in edges[src]:
            edges[src].append(dst)
    return nodes, edges


def find_cycle(nodes, edges):
    """Returns one cycle as a list of titles, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in nodes}
    stack = []

    def visit(n):
        color[n] = GREY
        stack.append(n)
        for m in edges.get(n, []):
            if nodes.get(m) is None:
                continue
            if color[m] == GREY:
                return stack[stack.index(m):] + [m]
            if color[m] == WHITE:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = BLACK
        return None

    sys.setrecursionlimit(10000)
    for n in nodes:
        if nodes[n] is not None and color[n] == WHITE:
            c = visit(n)
            if c:
                return c
    return None


def deepest(nodes, edges):
    """Worst path from each defined function (the graph is acyclic)."""
    memo = {}

    def depth(n):
        if n in memo:
            return memo[n]
        frame = nodes[n][0]
        best, path, ext = 0, [], set()
        for m in edges.get(n, []):
            if nodes.get(m) is None:
                if m != '__indirect_call':
                    ext.add(m)
                continue
            d, p, e = depth(m)
            ext |= e
            if d > best:
                best, path = d, p
        memo[n] = (frame + best, [n] + path, ext)
        return memo[n]

    return {n: depth(n) for n in nodes if nodes[n] is not None}


def name(nodes, title):
    return nodes[title][2] if nodes.get(title) else title


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    nodes, edges = parse(sys.argv[1])
    defined = {n: v for n, v in nodes.items() if v is not None}
    if not defined:
        sys.exit('stack.py: no function frames in %s' % sys.argv[1])
    dynamic = sorted(v[2] for v in defined.values() if 'dynamic' in v[1])
    cycle = find_cycle(nodes, edges)
    # Static functions are titled "file.c:name"; the rest are the API.
    api = sorted(n for n in defined if ':' not in n)
    if cycle:
        print('recursion: YES, %s' % ' -> '.join(name(nodes, c)
                                                for c in cycle))
        print('max stack: unbounded (recursion)')
        print('MAXSTACK -1')
        return
    res = deepest(nodes, edges)
    print('recursion: none (call graph of %d functions checked for cycles)'
          % len(defined))
    if dynamic:
        print('dynamic frames (alloca/VLA, unbounded): %s'
              % ', '.join(dynamic))
    indirect = sorted(n for n in defined
                      if '__indirect_call' in edges.get(n, []))
    if indirect:
        print('indirect calls (not followed): in %s'
              % ', '.join(name(nodes, n) for n in indirect))
    worst = None
    for n in api:
        d, path, ext = res[n]
        if worst is None or d > worst[0]:
            worst = (d, n, path, ext)
    for n in api:
        d, path, ext = res[n]
        frames = ' + '.join('%s %d' % (name(nodes, p), nodes[p][0])
                            for p in path)
        print('  %-22s %5d  %s%s' % (name(nodes, n), d, frames,
                                     ('  [+ ' + ', '.join(sorted(ext)) + ']')
                                     if ext else ''))
    d, n, path, ext = worst
    print('max stack: %d octets, entry %s%s' % (
        d, name(nodes, n),
        ', not counting library calls: ' + ', '.join(sorted(ext))
        if ext else ''))
    print('MAXSTACK %d' % (d if not dynamic else -1))


if __name__ == '__main__':
    main()
