// Builds the dashboard (Svelte 5) into dashboard/dist, which the server serves.
// `npm run dev:dashboard` serves it with hot reload and proxies socket.io and the REST
// API to a server started separately on port 8080.
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 600 },
  server: { proxy: { '/socket.io': { target: 'http://127.0.0.1:8080', ws: true }, '/api': 'http://127.0.0.1:8080' } },
});
