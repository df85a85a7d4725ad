/**
 * Runs every `test/bench/*.bench.ts` module and prints its results. Each module exports
 * `async function run(): Promise<Record<string, number | string>>`.
 *
 * `npm run bench` (node --expose-gc --import tsx test/bench/run.ts); name fragments as arguments
 * run only the matching modules, e.g. `npm run bench -- pgtable`.
 */

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type BenchResults = Record<string, number | string>;

/** The shape a bench module must have. */
interface BenchModule {
    run(): Promise<BenchResults>;
}

function isBenchModule(m: unknown): m is BenchModule {
    return typeof m === 'object' && m !== null && typeof (m as { run?: unknown }).run === 'function';
}

function format(value: number | string): string {
    if (typeof value === 'string') {
        return value;
    }
    return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
}

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();

if (typeof globalThis.gc !== 'function') {
    console.warn('warning: run with node --expose-gc for meaningful memory numbers');
}

let failed = false;
for (const file of files) {
    const mod: unknown = await import(pathToFileURL(join(dir, file)).href);
    if (!isBenchModule(mod)) {
        console.error(`${file}: does not export run()`);
        failed = true;
        continue;
    }
    console.log(`\n${file}`);
    const results = await mod.run();
    const width = Math.max(...Object.keys(results).map((k) => k.length));
    for (const [key, value] of Object.entries(results)) {
        console.log(`  ${key.padEnd(width)}  ${format(value)}`);
    }
}
process.exitCode = failed ? 1 : 0;
