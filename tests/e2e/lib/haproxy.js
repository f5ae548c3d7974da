// haproxy.js: the haproxy configuration of docs/cluster.md, for the e2e tests
// (tests/e2e/lib/cluster.js) and the benchmarks (tests/bench/bench.js). No
// dependency: the benchmark loads it without the test harness.
'use strict';

// The configuration for the nodes' ports, haproxy listening on port. inter: the health
// check's interval; log: its errors on stderr (one line per failed request); failover:
// the failure settings (retry-on, http-server-close: a connection per request, which a
// benchmark without failures leaves out); maxconn: haproxy's bound.
function haproxyConfig(port, nodes, { inter = '500ms', log = false, failover = true, maxconn = 1024 } = {}) {
  return `global
  maxconn ${maxconn}
${log ? '  log stderr format short local0 notice\n' : ''}
defaults
  mode http
${log ? '  log global\n  option httplog\n  option log-separate-errors\n  option dontlog-normal\n' : ''}  timeout connect 2s
  timeout client 90s
  timeout server 90s
  timeout http-keep-alive 10s
  option redispatch 1
  retries 3
${failover ? '  retry-on conn-failure 503\n  option http-server-close\n' : ''}
frontend gws
  bind 127.0.0.1:${port}
  option forwardfor
  default_backend ucgw

backend ucgw
  balance roundrobin
  option httpchk GET /healthz
${nodes.map((n, i) => `  server n${i} 127.0.0.1:${n.port} check inter ${inter} fall 1 rise 1`).join('\n')}
`;
}

module.exports = { haproxyConfig };
