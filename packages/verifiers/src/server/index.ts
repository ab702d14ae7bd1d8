export * from "./schemas.ts";
export * from "./server.ts";
