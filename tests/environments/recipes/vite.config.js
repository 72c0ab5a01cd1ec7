// vite.config.js
import { defineConfig } from 'vite';
import wasm from 'vite-plugin-wasm';

export default defineConfig({
  // clerk-fauna's bundler entry imports its .wasm as an ES module.
  plugins: [wasm()],
});
