import { defineConfig } from "vite";

// The gateway serves dist/ at `/`; `npm run dev` proxies the API to a running stack.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { port: 5173, proxy: { "/api": "http://127.0.0.1:5000", "/config.json": "http://127.0.0.1:5000" } },
});
