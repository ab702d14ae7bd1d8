// Runs when `node-gyp rebuild` fails at install time: the install must still succeed (everything falls back to
// plain TensorFlow.js wasm), so this only explains what happened and exits 0. It never downloads anything.
console.warn(
  "[@m2rl/kernels-native] the native kernel pack did not build; M2RL will run on plain TensorFlow.js (slower).\n" +
    "  Needs: a C compiler, make, python3, Node headers in /usr/include/node (Debian: nodejs / libnode-dev) and\n" +
    "  OpenBLAS (Debian: apt-get install -y libopenblas-dev). Then: npm rebuild @m2rl/kernels-native",
);
process.exitCode = 0;
