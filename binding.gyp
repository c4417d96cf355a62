{
  "targets": [
    {
      "target_name": "edge",
      "sources": ["native/edge.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
