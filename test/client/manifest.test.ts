/**
 * The extension manifest (package.json) against the client's sources: every contributed command
 * is registered and gated, every view is gated and backed by a provider, the palette matches the
 * client's colours, activation stays lazy, and the .vsix whitelist ships only what runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { GROUP_PALETTE } from '../../client/views/group-colors.js';

const root = join(import.meta.dirname, '..', '..');
interface Manifest {
    main: string;
    activationEvents: string[];
    capabilities: { untrustedWorkspaces: { supported: boolean } };
    engines: { vscode: string };
    devDependencies: Record<string, string>;
    contributes: {
        commands: Array<{ command: string; title: string; category?: string }>;
        menus: Record<string, Array<{ command: string; when?: string }>>;
        views: Record<string, Array<{ id: string; name: string; when?: string }>>;
        colors: Array<{ id: string; defaults: Record<string, string> }>;
        debuggers: Array<{ type: string; languages: string[]; configurationAttributes: { launch: { properties: Record<string, unknown> } } }>;
        configuration: { properties: Record<string, unknown> };
        languages: Array<{ id: string; extensions: string[] }>;
    };
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const clientSources = readdirSync(join(root, 'client'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(root, 'client', f), 'utf8'))
    .join('\n');

describe('manifest', () => {
    test('the entry point is the esbuild bundle', () => {
        expect(pkg.main).toBe('./out/client/extension.cjs');
    });

    test('activation is lazy: the language, the debugger, and (implicitly) commands and views', () => {
        expect(pkg.activationEvents.sort()).toEqual(['onDebugDynamicConfigurations:iommu', 'onDebugResolve:iommu', 'onLanguage:iommu']);
        expect(pkg.activationEvents.some((e) => e === '*' || e.startsWith('onStartupFinished') || e.startsWith('workspaceContains'))).toBe(false);
    });

    test('runs in untrusted workspaces (it runs no workspace code)', () => {
        expect(pkg.capabilities.untrustedWorkspaces.supported).toBe(true);
    });

    test('versions the editor needs are pinned as documented', () => {
        expect(pkg.engines.vscode).toBe('^1.91.0');
        expect(pkg.devDependencies['@types/vscode']).toBe('~1.91.0');
    });

    test('every contributed command is registered by the client and gated in the palette', () => {
        const palette = new Map((pkg.contributes.menus['commandPalette'] ?? []).map((m) => [m.command, m.when]));
        for (const { command } of pkg.contributes.commands) {
            expect(clientSources, command).toContain(`'${command}'`);
            expect(palette.get(command), `${command} has no commandPalette when`).toBeTruthy();
        }
    });

    test('every registered command is contributed (or internal)', () => {
        const registered = [...clientSources.matchAll(/registerCommand\(\s*'([^']+)'/g)].map((m) => m[1]!);
        const contributed = new Set(pkg.contributes.commands.map((c) => c.command));
        const internal = new Set(['iommu.statusMenu', 'iommu.debug.loadMore']);
        expect(registered.filter((c) => !contributed.has(c) && !internal.has(c))).toEqual([]);
    });

    test('every view is gated and has a provider', () => {
        const views = Object.values(pkg.contributes.views).flat();
        expect(views.map((v) => v.id).sort()).toEqual(['iommu.debug.groups', 'iommu.debug.pageTables', 'iommu.debug.pasidTables', 'iommu.groups']);
        for (const view of views) {
            expect(view.when, view.id).toBeTruthy();
            expect(clientSources, view.id).toContain(`'${view.id}'`);
        }
        for (const view of pkg.contributes.views['debug'] ?? []) {
            expect(view.when).toBe("debugType == 'iommu'");
        }
    });

    test('group colours are the palette the views use', () => {
        expect(pkg.contributes.colors.map((c) => c.id)).toEqual(GROUP_PALETTE.map((_, i) => `iommu.group${i}`));
        expect(pkg.contributes.colors.map((c) => c.defaults['dark'])).toEqual([...GROUP_PALETTE]);
    });

    test('the debugger takes program, scenario and stopOnEntry', () => {
        const [dbg] = pkg.contributes.debuggers;
        expect(dbg!.type).toBe('iommu');
        expect(dbg!.languages).toEqual(['iommu']);
        expect(Object.keys(dbg!.configurationAttributes.launch.properties).sort()).toEqual(['program', 'scenario', 'stopOnEntry']);
    });

    test('settings', () => {
        expect(Object.keys(pkg.contributes.configuration.properties).sort()).toEqual([
            'iommu.inlayHints.enabled', 'iommu.inlayHints.groups', 'iommu.inlayHints.results', 'iommu.kernel.default', 'iommu.trace.server',
        ]);
    });

    test('the .vsix whitelist: only bundles and the files VS Code reads', () => {
        const lines = readFileSync(join(root, '.vscodeignore'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
        expect(lines[0]).toBe('**');
        const included = lines.slice(1).map((l) => l.replace(/^!/, ''));
        for (const path of included) {
            expect(path, path).not.toMatch(/\.(ts|map)$|node_modules|^test|^engine|^language\//);
        }
        expect(included).toContain('out/client/extension.cjs');
        expect(included).toContain('out/server/language-server.cjs');
    });
});
