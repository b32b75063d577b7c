{
  "variables": {
    "loralab_openmp%": 1
  },
  "targets": [
    {
      "target_name": "loralab_kernels",
      "sources": [
        "native/addon.cc",
        "native/gemm.cc",
        "native/bf16-gemm.cc",
        "native/transpose.cc",
        "native/elementwise.cc",
        "native/pointwise.cc",
        "native/attention.cc",
        "native/cross-entropy.cc",
        "native/linear-cross-entropy.cc",
        "native/lora.cc",
        "native/optimizer.cc",
        "native/peak.cc",
        "native/svd.cc",
        "native/sampling.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "conditions": [
        [
          "OS=='mac'",
          {
            "libraries": ["-framework Accelerate"],
            "xcode_settings": {
              "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
              "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
              "GCC_OPTIMIZATION_LEVEL": "3",
              "MACOSX_DEPLOYMENT_TARGET": "11.0",
              "OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno", "-fno-trapping-math", "-Wno-unknown-pragmas"]
            }
          },
          {
            "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed 's/-I//g')"],
            "libraries": ["<!@(pkg-config --libs openblas)"],
            "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math"],
            "conditions": [
              [
                "loralab_openmp==1",
                { "cflags_cc": ["-fopenmp"], "libraries": ["-fopenmp"] },
                { "cflags_cc": ["-Wno-unknown-pragmas"] }
              ]
            ]
          }
        ]
      ]
    }
  ]
}
