{
  "targets": [
    {
      "target_name": "edge",
      "sources": ["native/edge.c", "native/batch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
