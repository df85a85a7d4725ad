/**
 * The layering of the design card, enforced: engine ← language ← server, client. The engine
 * imports neither `vscode` nor `langium` (nor anything editor-side), so it runs anywhere.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(join(root, dir))) {
        const p = join(dir, name);
        if (statSync(join(root, p)).isDirectory()) {
            out.push(...sources(p));
        } else if (p.endsWith('.ts')) {
            out.push(p);
        }
    }
    return out;
}

function imports(file: string): string[] {
    const text = readFileSync(join(root, file), 'utf8');
    return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

function layerOf(file: string, spec: string): string | undefined {
    if (!spec.startsWith('.')) {
        return spec.split('/')[0]!.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    }
    const target = relative(root, join(root, file, '..', spec));
    return target.split('/')[0];
}

describe('layering', () => {
    test('engine/ imports neither vscode nor langium, nor language/, server/ or client/', () => {
        const bad = sources('engine').flatMap((f) => imports(f)
            .map((s) => [f, s, layerOf(f, s)] as const)
            .filter(([, , layer]) => ['vscode', 'langium', 'language', 'server', 'client', 'vscode-languageserver', '@vscode/debugadapter'].includes(layer ?? '')));
        expect(bad).toEqual([]);
    });

    test('language/ imports neither vscode nor server/ or client/', () => {
        const bad = sources('language').flatMap((f) => imports(f)
            .map((s) => [f, s, layerOf(f, s)] as const)
            .filter(([, , layer]) => ['vscode', 'server', 'client'].includes(layer ?? '')));
        expect(bad).toEqual([]);
    });
});
