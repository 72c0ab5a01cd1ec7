import { defineConfig, searchForWorkspaceRoot } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // clerk-fauna/react imports `react`, resolved from the package's real path
  // (../pkg, which has no node_modules): take the app's own copy, one React.
  resolve: { dedupe: ['react', 'react-dom'] },
  server: {
    // `clerk-fauna` is `file:../pkg`, a symlink: Vite serves it from its real
    // path, outside this folder, so that folder must be allowed.
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), '../pkg'] },
  },
  // The package is rebuilt in place by scripts/build-package.sh; pre-bundling
  // would keep serving a stale copy.
  optimizeDeps: { exclude: ['clerk-fauna'] },
});
