#!/usr/bin/env python3
# tests/bench/cgcount.py DIR: instructions per unit of work in each callgrind window that
# tests/bench/run wrote with BENCH_CALLGRIND=DIR: the window's total / the calls of the function
# that marks one unit (gws_im_post: one SendMessage; else cometd_publish: one notification);
# with BENCH_REDIS_CALLGRIND=DIR too, redis-server's instructions per SendMessage of (e)'s cluster node;
# a window dumped by several nodes under one name (e-3: haproxy over three nodes) summed over them.
import re, sys, glob, collections
def parse(path):
    fnmap = {}; cnt = collections.Counter(); pending = None; total = 0; desc = ''
    for line in open(path):
        if line.startswith('summary:'): total = int(line.split()[1])
        m = re.match(r'^desc: Trigger: dump (\S+)', line)  # bench.js: callgrind_control --dump=NAME
        if m: desc = m.group(1)
        m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
        if m:
            kind, i, name = m.groups()
            if name: fnmap[i] = name
            if kind == 'cfn': pending = fnmap.get(i)
            continue
        m = re.match(r'^calls=(\d+)', line)
        if m and pending:
            cnt[pending] += int(m.group(1)); pending = None
    return total, cnt, desc
posts = 0  # SendMessages of the cluster node's window (the one that flushed the store)
windows = collections.defaultdict(list)  # a window named in its dumps (bench.js: e-3): its nodes
for f in sorted(glob.glob(sys.argv[1] + '/callgrind.out.*.*')):
    total, cnt, desc = parse(f)
    if desc: windows[desc].append((total, cnt['gws_im_post']))
    unit = 'gws_im_post' if cnt['gws_im_post'] else 'cometd_publish'
    n = cnt[unit]
    if cnt['store_on_flush'] and not desc: posts = n  # (e)'s cluster node alone, not e-3
    print(f"{f}: {total} Ir, {n} x {unit}: {total / max(n, 1) / 1000:.1f} k per unit")
# a window over several nodes (haproxy over three): instructions summed over the nodes
for name, v in sorted(windows.items()):
    if len(v) < 2: continue
    total = sum(t for t, _ in v); n = sum(k for _, k in v)
    print(f"window {name}, {len(v)} nodes summed: {total} Ir, {n} x gws_im_post: "
          f"{total / max(n, 1) / 1000:.1f} k per SendMessage")
# BENCH_REDIS_CALLGRIND=DIR (the same DIR): redis-server over the cluster node's window
for f in sorted(glob.glob(sys.argv[1] + '/redis.*.*')):
    total, cnt, _ = parse(f)
    print(f"{f}: {total} Ir, {cnt['evalShaCommand']} x EVALSHA, {posts} x SendMessage: "
          f"{total / max(posts, 1) / 1000:.1f} k per SendMessage")
