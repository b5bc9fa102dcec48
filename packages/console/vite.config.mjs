import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is built to static files that `fleetpki serve` serves at `/` (no dev server needed).
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist/app', emptyOutDir: true, sourcemap: true },
  // `npx vite` during development: the API of a local `npm start`.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' } },
});
