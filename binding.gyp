{
  "targets": [
    {
      "target_name": "bpfkit_native",
      "sources": ["native/bpfkit.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
