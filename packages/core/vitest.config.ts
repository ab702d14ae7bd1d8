import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["m2rl-source"] },
  ssr: { resolve: { conditions: ["m2rl-source"], externalConditions: ["m2rl-source"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    // wasm + native kernel pack when built (M2RL_NATIVE=0: plain wasm); see test/setup-backend.ts
    setupFiles: ["./test/setup-backend.ts"],
  },
});
