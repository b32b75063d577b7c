{
  "targets": [
    {
      "target_name": "loralab_kernels",
      "sources": [
        "native/addon.cc",
        "native/gemm.cc",
        "native/transpose.cc",
        "native/elementwise.cc",
        "native/pointwise.cc",
        "native/attention.cc",
        "native/cross-entropy.cc",
        "native/linear-cross-entropy.cc",
        "native/optimizer.cc",
        "native/peak.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(pkg-config --cflags-only-I openblas | sed 's/-I//g')"
      ],
      "libraries": ["<!@(pkg-config --libs openblas)", "-fopenmp"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-march=native", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
    }
  ]
}
