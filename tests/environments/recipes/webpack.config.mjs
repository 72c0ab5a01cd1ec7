// webpack.config.mjs
export default {
  mode: 'production',
  // clerk-fauna's bundler entry imports its .wasm as an ES module.
  experiments: { asyncWebAssembly: true },
};
