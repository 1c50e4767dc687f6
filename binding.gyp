# The optional native part: batched UDP for the DNS listener (src/resolver/udp-batch.c).
# `npm install` builds it with node-gyp; if it cannot (no compiler, not Linux),
# Gatehouse runs on Node's own UDP socket instead, only slower.
{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["src/resolver/udp-batch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
