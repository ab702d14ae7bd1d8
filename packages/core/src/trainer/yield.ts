/** Lets timers and I/O run between long synchronous tensor computations (progress bars, test runner RPC). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
