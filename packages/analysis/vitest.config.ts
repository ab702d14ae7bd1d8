import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["m2rl-source"] },
  ssr: { resolve: { conditions: ["m2rl-source"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], testTimeout: 60_000 },
});
