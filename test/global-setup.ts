/**
 * Builds the bundles once before any test file runs: the protocol tests spawn the shipped
 * artefacts (out/server/*.cjs), and building them from several test workers at once would race.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
}
