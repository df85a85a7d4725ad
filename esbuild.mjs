// Bundles each process entry point into one CommonJS file (Langium is ESM-only; the VS Code
// extension host and `node` load .cjs everywhere). `vscode` is provided by the editor.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const entries = {
    'client/extension': 'client/extension.ts',
    'server/language-server': 'server/language-server.ts',
    'server/debug-adapter': 'server/debug-adapter.ts',
    'server/cli': 'server/cli.ts',
};
const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, src]) => existsSync(src)));

const ctx = await esbuild.context({
    entryPoints,
    outdir: 'out',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['vscode'],
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
});
if (process.argv.includes('--watch')) {
    await ctx.watch();
} else {
    await ctx.rebuild();
    await ctx.dispose();
}
