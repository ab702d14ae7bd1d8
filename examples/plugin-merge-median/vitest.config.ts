import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["m2rl-source"] },
  // Vite 6+ resolves test (SSR) imports with `ssr.resolve.conditions`; without this @m2rl/* would load dist/.
  ssr: { resolve: { conditions: ["m2rl-source"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], testTimeout: 60_000 },
});
