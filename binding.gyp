{
  "targets": [
    {
      "target_name": "distributed_native",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/args.cc",
        "native/segment_alloc.cc",
        "native/frame_reader.cc",
        "native/frame_writer.cc",
        "native/mapping.cc",
        "native/shm_segment.cc",
        "native/file_mapping.cc",
        "native/transfer_segments.cc",
        "native/young_buffers.cc",
        "native/parallel_copy.cc",
        "native/interrupts.cc",
        "native/idle_spin.cc",
        "native/batch_scheduling.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions"],
      "libraries": ["-lrt"]
    }
  ]
}
