/**
 * The language server over JSON-RPC, as an editor drives it: `npm run build` bundles it, and the
 * test spawns `iommu-scenarios lsp --stdio` from the bundle and speaks LSP on its stdio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
    DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, ExitNotification, HoverRequest, InitializeRequest,
    InitializedNotification, InlayHintRequest, PublishDiagnosticsNotification, ShutdownRequest, StreamMessageReader,
    StreamMessageWriter, createProtocolConnection, type Diagnostic, type Hover, type InlayHint, type ProtocolConnection,
    type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import {
    GroupsRequest, ScenariosRequest, type GroupsParams, type GroupsResult, type ScenariosParams, type ScenariosResult,
} from '../../language/protocol/messages.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'out', 'server', 'cli.cjs');
const uri = 'file:///virtual/assign.iommu';

const MACHINE = `machine box {
    iommu dmar0 intel-vtd { features intr-remap coherent }
    pci 0000 iommu dmar0 {
        root-port 00:1d.0 rp1 {
            endpoint 02:00.0 nic0 { driver ixgbe }
            endpoint 02:00.1 nic1 { driver ixgbe }
        }
    }
}
`;

/** A scenario whose SET_CONTAINER fails: nic1 still has its kernel driver. */
const FAILING = `${MACHINE}
scenario assign on box {
    process qemu {
        unbind nic0
        bind nic0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)
    }
}
`;

/** The same, fixed: nic1 is bound to vfio-pci too. */
const FIXED = FAILING.replace('        let container', '        unbind nic1\n        bind nic1 vfio-pci\n        let container');

let child: ChildProcess;
let connection: ProtocolConnection;
const published: PublishDiagnosticsParams[] = [];
const waiters: Array<() => void> = [];

/** The next diagnostics published for the document that satisfy `accept`. */
async function diagnosticsWhere(accept: (diagnostics: readonly Diagnostic[]) => boolean): Promise<Diagnostic[]> {
    for (;;) {
        const found = published.find(p => p.uri === uri && accept(p.diagnostics));
        if (found) {
            published.length = 0;
            return found.diagnostics;
        }
        await new Promise<void>(resolve => waiters.push(resolve));
    }
}

beforeAll(async () => {
    // The same Node that runs the tests runs npm and the bundle.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    // The bundle is built once for the whole run by test/global-setup.ts.
    expect(existsSync(cli)).toBe(true);
    child = spawn(process.execPath, [cli, 'lsp', '--stdio'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    connection.onNotification(PublishDiagnosticsNotification.type, params => {
        published.push(params);
        waiters.splice(0).forEach(wake => wake());
    });
    connection.listen();
}, 120_000);

afterAll(() => {
    connection?.dispose();
    if (child && child.exitCode === null) {
        child.kill();
    }
});

describe('the language server over stdio', () => {
    test('initialize announces the editor features', async () => {
        const result = await connection.sendRequest(InitializeRequest.type, {
            processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: {},
        });
        const capabilities = result.capabilities;
        expect(capabilities.hoverProvider).toBe(true);
        expect(capabilities.inlayHintProvider).toBeTruthy();
        expect(capabilities.completionProvider?.triggerCharacters).toEqual(expect.arrayContaining(['(', ',']));
        expect(capabilities.codeActionProvider).toBe(true);
        expect(capabilities.documentFormattingProvider).toBe(true);
        expect(capabilities.renameProvider).toEqual({ prepareProvider: true });
        expect(capabilities.semanticTokensProvider).toBeTruthy();
        await connection.sendNotification(InitializedNotification.type, {});
    });

    test('a document with a failing call gets the engine\'s diagnostic', async () => {
        await connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri, languageId: 'iommu', version: 1, text: FAILING },
        });
        const diagnostics = await diagnosticsWhere(list => list.length > 0);
        const failing = diagnostics.find(d => d.code === 'call-fails');
        expect(failing?.message).toBe('EPERM: group 0 is not viable: 0000:02:00.1 (nic1) is bound to ixgbe (drivers/iommu/iommu.c)');
        expect(failing?.range).toEqual({ start: { line: 16, character: 8 }, end: { line: 16, character: 50 } });
        expect(failing?.severity).toBe(1);
    }, 30_000);

    test('hover over a device shows its group; inlay hints show results', async () => {
        const hover: Hover | null = await connection.sendRequest(HoverRequest.type, {
            textDocument: { uri }, position: { line: 4, character: 30 },
        });
        const value = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
        expect(value).toContain('**nic0** · `0000:02:00.0` · endpoint');
        expect(value).toContain('IOMMU group **0** (with rp1, nic1): not viable');
        const hints: InlayHint[] | null = await connection.sendRequest(InlayHintRequest.type, {
            textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 30, character: 0 } },
        });
        expect(hints?.map(h => h.label)).toEqual(expect.arrayContaining(['group 0', '→ EPERM', '→ ok fd=3']));
    });

    test('the custom requests iommu/groups and iommu/scenarios', async () => {
        const groups = await connection.sendRequest<GroupsResult>(GroupsRequest, { uri } satisfies GroupsParams);
        expect(groups.machines.map(m => m.name)).toEqual(['box']);
        const group0 = groups.machines[0]!.groups.find(g => g.id === 0);
        expect(group0?.viable).toBe(false);
        expect(group0?.devices.map(d => d.name)).toEqual(['rp1', 'nic0', 'nic1']);
        const scenarios = await connection.sendRequest<ScenariosResult>(ScenariosRequest, { uri } satisfies ScenariosParams);
        expect(scenarios.scenarios.map(s => `${s.name} on ${s.machine}`)).toEqual(['assign on box']);
    });

    test('an edit that fixes the scenario clears the diagnostic', async () => {
        await connection.sendNotification(DidChangeTextDocumentNotification.type, {
            textDocument: { uri, version: 2 }, contentChanges: [{ text: FIXED }],
        });
        const diagnostics = await diagnosticsWhere(list => !list.some(d => d.code === 'call-fails'));
        expect(diagnostics).toEqual([]);
    }, 30_000);

    test('shutdown and exit', async () => {
        const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
        await connection.sendRequest(ShutdownRequest.type);
        await connection.sendNotification(ExitNotification.type);
        expect(await exited).toBe(0);
    }, 30_000);
});
